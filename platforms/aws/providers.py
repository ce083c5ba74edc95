"""EC2 user-data providers (DESIGN §5): identity document (30) and IMDS user data (40).

Bottlerocket's `ec2-identity-doc` and `ec2-imds` providers, in process, sharing one
IMDS client (one token, one connection: three requests on a first boot).

- identity document → `settings.aws.region` only. `/etc/kindling/identity-document`
  (an offline substitute, e.g. for images built in isolated networks) wins over
  IMDS; a file without a string `region` is an error. From IMDS, a 404 or a document
  without `region` falls back to `us-east-1`, as Bottlerocket does.
- user data: IMDS `user-data`; 404 or blank = no user data; gzip sniffed; TOML with a
  `[settings]` table (kindling.user_data). Nothing else is fetched (no crawling).
"""

from __future__ import annotations

import json

from kindling import log
from kindling.errors import HostError, InputError
from kindling.host import Host
from kindling.nesting import loads_json
from kindling.providers import UserDataProvider
from kindling.user_data import UserData, parse_user_data

__all__ = [
    "FALLBACK_REGION",
    "IDENTITY_DOCUMENT",
    "IDENTITY_DOCUMENT_PATH",
    "IMDS_USER_DATA",
    "read_identity_document",
    "read_imds_user_data",
]

IDENTITY_DOCUMENT_PATH = "/etc/kindling/identity-document"
FALLBACK_REGION = "us-east-1"
_IMDS_DOC = "IMDS dynamic/instance-identity/document"


def _region_from_file(host: Host) -> str:
    source = IDENTITY_DOCUMENT_PATH
    try:
        doc = loads_json(host.read_bytes(source, limit=64 * 1024), source=source)
    except HostError as exc:
        raise InputError(f"cannot read: {exc}", source=source) from exc
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError("not a JSON document", source=source) from None
    if not isinstance(doc, dict) or "region" not in doc:
        raise InputError("instance identity document missing region", source=source)
    region = doc["region"]
    if not isinstance(region, str):
        raise InputError("region: expected a string", source=source)
    return region


def read_identity_document(host: Host) -> UserData | None:
    """`{"aws": {"region": …}}` from the local document, else IMDS, else us-east-1."""
    if host.path(IDENTITY_DOCUMENT_PATH).exists():
        return UserData({"aws": {"region": _region_from_file(host)}}, IDENTITY_DOCUMENT_PATH)
    from platforms.aws.imds import client_for  # not imported on other platforms' boots

    try:
        region = client_for(host).region()
    except HostError as exc:
        raise InputError(str(exc), source=_IMDS_DOC) from exc
    if region is None:
        log.get("ec2-identity-doc").warning(
            f"no region in IMDS: falling back to {FALLBACK_REGION}", source=_IMDS_DOC
        )
        return UserData({"aws": {"region": FALLBACK_REGION}}, f"{_IMDS_DOC} absent: fallback region")
    return UserData({"aws": {"region": region}}, _IMDS_DOC)


def read_imds_user_data(host: Host) -> UserData | None:
    """IMDS `user-data`, decoded by the shared rules; None when there is none."""
    from platforms.aws.imds import client_for

    source = "IMDS user-data"
    try:
        body = client_for(host).get("user-data")
    except HostError as exc:
        raise InputError(str(exc), source=source) from exc
    if body is None:
        return None
    return parse_user_data(body, source=source)


IDENTITY_DOCUMENT = UserDataProvider(
    name="ec2-identity-doc",
    order=30,
    read=read_identity_document,
    platforms=("aws",),
    description=IDENTITY_DOCUMENT_PATH + " or " + _IMDS_DOC,
)
IMDS_USER_DATA = UserDataProvider(
    name="ec2-imds",
    order=40,
    read=read_imds_user_data,
    platforms=("aws",),
    description="IMDS user-data",
)
