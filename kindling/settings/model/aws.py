"""`settings.aws.*`: region and credentials, read by the AWS services at boot."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

_READERS = ("service:cfsignal", "service:warm-pool-wait", "service:lifecycle-complete")

MODEL = Struct(
    {
        "region": Leaf(t.pattern(r"[a-z0-9-]{1,64}", "not a valid AWS region name", example="us-west-2"),
                       owner=(*_READERS, "applier:kubelet"), doc="AWS region (also the kubeconfig's)"),
        "config": Leaf(t.base64_text, sensitive=True, owner=("applier:aws-config", *_READERS),
                       doc="base64 of an AWS config file, written to /root/.aws/config"),
        "credentials": Leaf(t.base64_text, sensitive=True, owner=("applier:aws-config", *_READERS),
                            doc="base64 of an AWS credentials file, written to /root/.aws/credentials"),
        "profile": Leaf(t.single_line, doc="profile to use from config and credentials"),
    },
    owner=_READERS,
)
