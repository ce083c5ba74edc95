"""The appliers netdog registers, kept apart from their work.

Every commit loads every registered applier to read its prefixes; these objects must
therefore cost nothing to import. The work (and the net.toml model it needs) is
imported only when an applier actually runs (DESIGN §8).
"""

from __future__ import annotations

from typing import Any

from kindling.appliers import Applier
from kindling.host import Host
from netdog.paths import PROXY_ENV, RESOLV_CONF, RESOLVED_DROPIN

__all__ = ["DNS", "HOSTNAME", "HOSTS", "PROXY"]


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
    outputs=(PROXY_ENV,),
)
DNS = Applier(name="netdog-dns", prefixes=("dns",), apply=_apply_dns,
              outputs=("/etc/systemd/network/10-*.network.d/10-dns.conf", RESOLVED_DROPIN, RESOLV_CONF))


def _apply_hostname(host: Host, settings: dict[str, Any]) -> list[str]:
    from netdog.hostname import apply_hostname_setting

    return apply_hostname_setting(host, settings)


def _check_hostname(host: Host, before: dict[str, Any], after: dict[str, Any]) -> None:
    from netdog.hostname import check_hostname_setting

    check_hostname_setting(host, before, after)


def _apply_hosts(host: Host, settings: dict[str, Any]) -> list[str]:
    """`/etc/hosts` only once a hosts entry or a hostname is set: a node that sets
    neither keeps its distribution's file."""
    from netdog.etc_hosts import HOSTS, render_hosts
    from netdog.hostname import usable_hostname

    network = settings.get("network") or {}
    entries, name = network.get("hosts") or [], network.get("hostname")
    if not entries and not name:
        return []
    text = render_hosts(usable_hostname(name) if name else None, entries)
    return [f"wrote {HOSTS}"] if host.write_file(HOSTS, text) else []


HOSTNAME = Applier(
    name="hostname", prefixes=("network.hostname",), apply=_apply_hostname, check=_check_hostname,
    outputs=("/etc/hostname",),
)
HOSTS = Applier(name="hosts", prefixes=("network.hosts", "network.hostname"), apply=_apply_hosts,
                outputs=("/etc/hosts",))
