"""The AWS setting generators (Bottlerocket's pluto), registered in
`kindling.generators`; the IMDS work is imported only when a generator runs.

`kubernetes.provider-id` is `aws:///<availability-zone>/<instance-id>`, as pluto
writes it for the kubelet's `--provider-id`; `kubernetes.max-pods` comes from the
instance type and the `eni-max-pods` table (`platforms/aws/max_pods.py`).
"""

from __future__ import annotations

from kindling.generators import Generated, Generator
from kindling.host import Host

__all__ = ["MAX_PODS", "PROVIDER_ID"]


def _provider_id(host: Host, platform: str) -> Generated:
    from platforms.aws.imds import client_for

    imds = client_for(host)
    zone = imds.get_text("meta-data/placement/availability-zone")
    instance = imds.instance_id()
    if not zone or not instance:
        return None
    return f"aws:///{zone.strip()}/{instance}", "imds placement/availability-zone + instance-id"


def _max_pods(host: Host, platform: str) -> Generated:
    from platforms.aws.imds import client_for
    from platforms.aws.max_pods import max_pods_for

    instance_type = client_for(host).get_text("meta-data/instance-type")
    if not instance_type:
        return None
    pods = max_pods_for(instance_type)
    return None if pods is None else (pods, f"eni-max-pods table for {instance_type.strip()}")


PROVIDER_ID = Generator(
    name="aws-provider-id",
    key="kubernetes.provider-id",
    generate=_provider_id,
    sources="IMDS availability zone and instance id",
    platforms=("aws",),
)
MAX_PODS = Generator(
    name="aws-max-pods",
    key="kubernetes.max-pods",
    generate=_max_pods,
    sources="IMDS instance type, eni-max-pods table",
    platforms=("aws",),
)
