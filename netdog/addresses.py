"""A link's addresses over raw rtnetlink (RTM_GETADDR dump), with the stdlib only.

Why not pyroute2 here: importing it costs ~110 ms, most of `kindling boot`'s budget
(DESIGN §8), for one read-only query on every boot. The dump is the one `netdog apply`'s
stdlib client sends (netdog/rtnl.py), the same request `ip -o addr` sends; pyroute2
stays for what needs it (other namespaces, the renewing DHCP daemon).

The addresses come back as `LinkAddress`, not `ipaddress` objects: write-network-status
runs on every boot and needs only an address's family, whether it is link-local and its
text, while `ipaddress` (with the functools it imports) costs ~1 ms of a later boot.
"""

from __future__ import annotations

import _socket as socket  # not the `socket` wrapper module (~1.5 ms of import): see netdog/rtnl.py

from netdog.errors import NetlinkError
from netdog.rtnl import Rtnl

__all__ = ["LinkAddress", "link_addresses"]


class LinkAddress:
    """An IPv4 (4 bytes) or IPv6 (16 bytes) address as the kernel reports it; compares,
    hashes and prints as the `ipaddress` object of the same bytes does."""

    __slots__ = ("packed",)

    def __init__(self, packed: bytes) -> None:
        if len(packed) not in (4, 16):
            raise ValueError(f"an address is 4 or 16 bytes, not {len(packed)}")
        self.packed = bytes(packed)

    @property
    def version(self) -> int:
        return 4 if len(self.packed) == 4 else 6

    @property
    def is_link_local(self) -> bool:
        """169.254.0.0/16 or fe80::/10, as `ipaddress` says."""
        a, b = self.packed[0], self.packed[1]
        return (a, b) == (169, 254) if len(self.packed) == 4 else a == 0xFE and b & 0xC0 == 0x80

    def __str__(self) -> str:
        if len(self.packed) == 4:
            return ".".join(map(str, self.packed))
        return _ipv6_text(self.packed)

    def __repr__(self) -> str:
        return f"LinkAddress({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LinkAddress) and other.packed == self.packed

    def __hash__(self) -> int:
        return hash(self.packed)


def _ipv6_text(packed: bytes) -> str:
    """IPv6 text as `ipaddress` writes it (RFC 5952 but for embedded IPv4, which it writes
    as hex too): lower-case groups without leading zeros, the first longest run of two or
    more zero groups as `::`."""
    groups = [f"{packed[i] << 8 | packed[i + 1]:x}" for i in range(0, 16, 2)]
    start, length, run_start, run = -1, 0, -1, 0
    for i, group in enumerate(groups):
        if group != "0":
            run = 0
            continue
        if run == 0:
            run_start = i
        run += 1
        if run > length:
            start, length = run_start, run
    if length < 2:
        return ":".join(groups)
    return ":".join(groups[:start]) + "::" + ":".join(groups[start + length:])


def link_addresses(ifname: str) -> list[LinkAddress]:
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
    return [LinkAddress(raw) for raw, _plen in found if len(raw) in (4, 16)]
