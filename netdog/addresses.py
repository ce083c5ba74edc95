"""A link's addresses over raw rtnetlink (RTM_GETADDR dump), with the stdlib only.

Why not pyroute2 here: importing it costs ~110 ms, most of `kindling boot`'s budget
(DESIGN §8: at least 5x faster than cloud-init), for one read-only query on every boot. The
dump below is the same request `ip -o addr` sends; pyroute2 stays for what needs it
(configuring links, DHCP, other namespaces).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

from netdog.errors import NetlinkError

__all__ = ["link_addresses"]

_RTM_NEWADDR = 20
_RTM_GETADDR = 22
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLM_F_REQUEST = 0x1
_NLM_F_DUMP = 0x300
_IFA_ADDRESS = 1
_IFA_LOCAL = 2
_NLMSGHDR = struct.Struct("=IHHII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTATTR = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def _parse_attrs(data: bytes) -> dict[int, bytes]:
    attrs: dict[int, bytes] = {}
    offset = 0
    while offset + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            break
        attrs.setdefault(kind, data[offset + _RTATTR.size : offset + length])
        offset += _align(length)
    return attrs


def parse_dump(chunk: bytes, index: int) -> tuple[list[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]:
    """Addresses of link `index` in one recv() of the dump, and whether it ended."""
    out: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    offset = 0
    while offset + _NLMSGHDR.size <= len(chunk):
        length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(chunk, offset)
        if length < _NLMSGHDR.size:
            raise NetlinkError("malformed netlink message")
        body = chunk[offset + _NLMSGHDR.size : offset + length]
        offset += _align(length)
        if kind == _NLMSG_DONE:
            return out, True
        if kind == _NLMSG_ERROR:
            (errno,) = struct.unpack_from("=i", body)
            if errno:
                raise NetlinkError(f"RTM_GETADDR: {os.strerror(-errno)}")
            continue
        if kind != _RTM_NEWADDR or len(body) < _IFADDRMSG.size:
            continue
        family, _plen, _fl, _scope, ifindex = _IFADDRMSG.unpack_from(body)
        if ifindex != index or family not in (socket.AF_INET, socket.AF_INET6):
            continue
        attrs = _parse_attrs(body[_IFADDRMSG.size :])
        raw = attrs.get(_IFA_LOCAL) or attrs.get(_IFA_ADDRESS)
        if raw and len(raw) in (4, 16):
            out.append(ipaddress.ip_address(raw))
    return out, False


def link_addresses(ifname: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses of `ifname` in this network namespace, in kernel order."""
    try:
        index = socket.if_nametoindex(ifname)
    except OSError:
        raise NetlinkError(f"interface {ifname}: no such link") from None
    request = _NLMSGHDR.pack(_NLMSGHDR.size + _IFADDRMSG.size, _RTM_GETADDR,
                             _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0) + _IFADDRMSG.pack(0, 0, 0, 0, 0)
    out: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
            sock.settimeout(5)
            sock.sendto(request, (0, 0))
            while True:
                found, done = parse_dump(sock.recv(65536), index)
                out += found
                if done:
                    return out
    except OSError as exc:
        raise NetlinkError(f"interface {ifname}: netlink address dump failed: {exc}") from exc
