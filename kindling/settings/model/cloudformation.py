"""`settings.cloudformation.*`: the CloudFormation signal sent at the end of boot."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

MODEL = Struct(
    {
        "should-signal": Leaf(t.boolean, kind="boolean", doc="send the signal"),
        "stack-name": Leaf(t.single_line, doc="stack to signal"),
        "logical-resource-id": Leaf(t.single_line, doc="logical ID of the Auto Scaling group"),
    },
    owner="service:cfsignal",
)
