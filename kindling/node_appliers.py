"""The hub's node appliers for NTP, the CA trust store and the AWS SDK files,
registered apart from their work so loading every applier on each commit imports
none of it (DESIGN §8, §10)."""

from __future__ import annotations

from typing import Any

from kindling.appliers import Applier, Pending
from kindling.host import Host

__all__ = ["AWS_CONFIG", "NTP", "PKI"]


def _ntp(host: Host, settings: dict[str, Any]) -> list[str]:
    from kindling.ntp import apply_ntp

    return apply_ntp(host, settings)


def _pki(host: Host, settings: dict[str, Any]) -> list[str] | Pending:
    from kindling.trust_store import start_pki

    return start_pki(host, settings)


def _aws(host: Host, settings: dict[str, Any]) -> list[str]:
    from kindling.aws_files import apply_aws_files

    return apply_aws_files(host, settings)


def _ntp_check(host: Host, before: dict[str, Any], after: dict[str, Any]) -> None:
    from kindling.ntp import ntp_servers

    ntp_servers(after)


def _pki_check(host: Host, before: dict[str, Any], after: dict[str, Any]) -> None:
    from kindling.trust_store import bundle_certificates

    for name, entry in (after.get("pki") or {}).items():
        bundle_certificates(name, (entry or {}).get("data"))


# outputs: the files of kindling/{ntp,trust_store,aws_files}.py
NTP = Applier(name="ntp", prefixes=("ntp",), apply=_ntp, check=_ntp_check,
              outputs=("/etc/chrony/conf.d/90-kindling.conf", "/etc/systemd/timesyncd.conf.d/90-kindling.conf"))
PKI = Applier(name="pki", prefixes=("pki",), apply=_pki, check=_pki_check, overlaps=True,
              outputs=("/usr/local/share/ca-certificates/kindling/*.crt",
                       "/etc/pki/ca-trust/source/anchors/kindling-*.pem"))
AWS_CONFIG = Applier(name="aws-config", prefixes=("aws.config", "aws.credentials"), apply=_aws,
                     outputs=("/root/.aws/config", "/root/.aws/credentials"))
