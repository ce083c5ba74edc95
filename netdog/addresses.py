"""A link's addresses over raw rtnetlink (RTM_GETADDR dump), with the stdlib only.

Why not pyroute2 here: importing it costs ~110 ms, most of `kindling boot`'s budget
(DESIGN §8), for one read-only query on every boot. The dump is the one `netdog apply`'s
stdlib client sends (netdog/rtnl.py), the same request `ip -o addr` sends; pyroute2
stays for what needs it (other namespaces, the renewing DHCP daemon).
"""

from __future__ import annotations

import _socket as socket  # not the `socket` wrapper module (~1.5 ms of import): see netdog/rtnl.py
import ipaddress

from netdog.errors import NetlinkError
from netdog.rtnl import Rtnl

__all__ = ["link_addresses"]


def link_addresses(ifname: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses of `ifname` in this network namespace, in kernel order."""
    try:
        index = socket.if_nametoindex(ifname)
    except OSError:
        raise NetlinkError(f"interface {ifname}: no such link") from None
    try:
        rt = Rtnl(timeout=5)
        try:
            found = rt.addresses(index)
        finally:
            rt.close()
    except NetlinkError as exc:
        raise NetlinkError(f"interface {ifname}: netlink address dump failed: {exc}") from None
    return [ipaddress.ip_address(raw) for raw, _plen in found if len(raw) in (4, 16)]
