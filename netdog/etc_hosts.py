"""`/etc/hosts` from `network.hosts` and `network.hostname` (Bottlerocket's hosts
template with schnauzer's `etc_hosts_entries` and `localhost_aliases` helpers).

Kept from upstream: entries for one address merge, names in the order first given
(`iter_merged`); entries for 127.0.0.1 / ::1 are not lines of their own but aliases on
the localhost lines, after the hostname; the hostname is added to the localhost lines
unless a static entry already maps it. Not kept: upstream also drops the hostname from
loopback when DNS resolves it; an applier here makes no network calls, so that check is
replaced by the static one alone.

Pure: settings in, text out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

__all__ = ["HOSTS", "merge_entries", "render_hosts"]

HOSTS = "/etc/hosts"
_V4_LOOPBACK = ipaddress.ip_address("127.0.0.1")
_V6_LOOPBACK = ipaddress.ip_address("::1")
_HEADER = "# Written by Kindling from settings.network.hosts and settings.network.hostname.\n"


def merge_entries(entries: Sequence[Sequence[Any]]) -> list[tuple[str, list[str]]]:
    """One (address, names) per address, first-seen order, names deduplicated in order."""
    merged: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, list[str]] = {}
    for address, names in entries:
        names_for = merged.setdefault(ipaddress.ip_address(address), [])
        names_for.extend(n for n in names if n not in names_for)
    return [(str(addr), names) for addr, names in merged.items()]


def render_hosts(hostname: str | None, entries: Sequence[Sequence[Any]]) -> str:
    merged = merge_entries(entries)
    mapped = {name for _, names in merged for name in names}
    own = [hostname] if hostname and hostname not in mapped else []
    loop4 = next((n for a, n in merged if ipaddress.ip_address(a) == _V4_LOOPBACK), [])
    loop6 = next((n for a, n in merged if ipaddress.ip_address(a) == _V6_LOOPBACK), [])
    lines = [
        " ".join(["127.0.0.1", "localhost", *own, *(n for n in loop4 if n not in own)]),
        " ".join(["::1", "localhost", *own, *(n for n in loop6 if n not in own)]),
    ]
    for address, names in merged:
        if ipaddress.ip_address(address) not in (_V4_LOOPBACK, _V6_LOOPBACK) and names:
            lines.append(" ".join([address, *names]))
    return _HEADER + "".join(line + "\n" for line in lines)
