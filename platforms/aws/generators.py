"""The AWS setting generators (Bottlerocket's pluto), registered in
`kindling.generators`; the IMDS work is imported only when a generator runs.

Both read the instance identity document (`/etc/kindling/identity-document` when
present, else IMDS `dynamic/instance-identity/document`, which the region provider of
the same boot has already fetched: the IMDS client keeps it, so these cost no request).
`kubernetes.provider-id` is `aws:///<availabilityZone>/<instanceId>`, as pluto writes it
for the kubelet's `--provider-id`; `kubernetes.max-pods` comes from `instanceType` and
the `eni-max-pods` table (`platforms/aws/max_pods.py`).
"""

from __future__ import annotations

from typing import Any

from kindling.errors import InputError
from kindling.generators import Generated, Generator
from kindling.host import Host

__all__ = ["MAX_PODS", "PROVIDER_ID"]


def _identity(host: Host) -> tuple[dict[str, Any], str]:
    from platforms.aws.providers import IDENTITY_DOCUMENT_PATH

    if host.path(IDENTITY_DOCUMENT_PATH).exists():
        import json

        from kindling.nesting import loads_json

        try:
            doc = loads_json(host.read_bytes(IDENTITY_DOCUMENT_PATH, limit=64 * 1024), source=IDENTITY_DOCUMENT_PATH)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError("not a JSON document", source=IDENTITY_DOCUMENT_PATH) from None
        return (doc if isinstance(doc, dict) else {}), IDENTITY_DOCUMENT_PATH
    from platforms.aws.imds import client_for

    return client_for(host).identity_document() or {}, "IMDS identity document"


def _field(doc: dict[str, Any], name: str) -> str | None:
    value = doc.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _provider_id(host: Host, platform: str) -> Generated:
    doc, source = _identity(host)
    zone, instance = _field(doc, "availabilityZone"), _field(doc, "instanceId")
    if not zone or not instance:
        return None
    return f"aws:///{zone}/{instance}", f"{source} (availabilityZone, instanceId)"


def _max_pods(host: Host, platform: str) -> Generated:
    from platforms.aws.max_pods import max_pods_for

    doc, source = _identity(host)
    instance_type = _field(doc, "instanceType")
    pods = max_pods_for(instance_type) if instance_type else None
    return None if pods is None else (pods, f"eni-max-pods table for {instance_type} ({source})")


PROVIDER_ID = Generator(
    name="aws-provider-id",
    key="kubernetes.provider-id",
    generate=_provider_id,
    sources="the instance identity document",
    platforms=("aws",),
    requires="kubernetes",
)
MAX_PODS = Generator(
    name="aws-max-pods",
    key="kubernetes.max-pods",
    generate=_max_pods,
    sources="instance type from the identity document, eni-max-pods table",
    platforms=("aws",),
    requires="kubernetes",
)
