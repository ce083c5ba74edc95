"""The appliers netdog registers, kept apart from their work.

Every commit loads every registered applier to read its prefixes; these objects must
therefore cost nothing to import. The work (and the net.toml model it needs) is
imported only when an applier actually runs (DESIGN §8).
"""

from __future__ import annotations

from typing import Any

from kindling.appliers import Applier
from kindling.host import Host

__all__ = ["DNS", "PROXY"]


def _apply_proxy(host: Host, settings: dict[str, Any]) -> list[str]:
    from netdog.proxy import apply_proxy

    return apply_proxy(host, settings)


def _apply_dns(host: Host, settings: dict[str, Any]) -> list[str]:
    from netdog.resolv import apply_dns

    return apply_dns(host, settings)


PROXY = Applier(
    name="netdog-proxy",
    prefixes=(
        "network.https-proxy",
        "network.no-proxy",
        "kubernetes.api-server",
        "kubernetes.cluster-domain",
    ),
    apply=_apply_proxy,
)
DNS = Applier(name="netdog-dns", prefixes=("dns",), apply=_apply_dns)
