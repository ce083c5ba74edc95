"""rtnetlink over the stdlib socket module: the requests `netdog apply` sends on every
boot (links, addresses, routes, up, MTU), without pyroute2.

Why: importing pyroute2 costs 100-170 ms here, five times the DHCP exchange itself, and
the direct backend runs on every boot of a node without networkd. The messages are the
ones `ip link/addr/route` send (linux/rtnetlink.h, linux/if_addr.h); each change asks
for an acknowledgement and a non-zero one becomes `NetlinkError` with its errno.
Bonds and VLANs (rare, and many more attributes) still go through pyroute2
(netdog/netlink.py).
"""

from __future__ import annotations

# The C socket type, not the `socket` module: that wrapper (its enum conversions and
# `selectors`) costs ~1.5 ms of import on every boot for one netlink socket; `_socket`
# has every call used here, with the same errors.
import _socket as socket
import errno as errno_mod
import os
import struct

from netdog.errors import NetlinkError

__all__ = ["Rtnl"]

RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE = 24
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
IFF_UP = 0x1
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_PERM_ADDRESS = 1, 3, 4, 10, 18, 54
IFLA_INFO_KIND = 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS, IFA_RT_PRIORITY = 1, 2, 4, 6, 8, 9
IFA_F_NOPREFIXROUTE = 0x200
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_TABLE = 1, 4, 5, 6, 7, 15
RT_TABLE_MAIN = 254
RTPROT_BOOT, RTPROT_STATIC, RTPROT_DHCP = 3, 4, 16
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253
RTN_UNICAST = 1

_HDR = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_IFADDR = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTA = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, data: bytes) -> bytes:
    """One rtattr, padded."""
    raw = _RTA.pack(_RTA.size + len(data), kind) + data
    return raw + b"\0" * (_align(len(raw)) - len(raw))


def parse_attrs(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    offset = 0
    while offset + _RTA.size <= len(data):
        length, kind = _RTA.unpack_from(data, offset)
        if length < _RTA.size:
            break
        out.setdefault(kind & 0x3FFF, data[offset + _RTA.size : offset + length])
        offset += _align(length)
    return out


def _mac(raw: bytes | None) -> str:
    return ":".join(f"{b:02x}" for b in raw) if raw else ""


class Rtnl:
    """One NETLINK_ROUTE socket in the current network namespace."""

    def __init__(self, timeout: float = 10) -> None:
        try:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                      socket.NETLINK_ROUTE)
            self.sock.bind((0, 0))
        except OSError as exc:
            raise NetlinkError(f"netlink: {exc.strerror or exc}") from None
        self.sock.settimeout(timeout)
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self.seq += 1
        self.sock.send(_HDR.pack(_HDR.size + len(body), kind, flags | NLM_F_REQUEST, self.seq, 0) + body)
        return self.seq

    def _messages(self, seq: int) -> list[tuple[int, bytes]] | None:
        """The messages of one recv() that answer `seq`; None once the answer is complete."""
        chunk = self.sock.recv(1 << 16)
        out: list[tuple[int, bytes]] = []
        offset = 0
        while offset + _HDR.size <= len(chunk):
            length, kind, _flags, mseq, _pid = _HDR.unpack_from(chunk, offset)
            if length < _HDR.size:
                raise NetlinkError("netlink: malformed message")
            body = chunk[offset + _HDR.size : offset + length]
            offset += _align(length)
            if mseq != seq:
                continue
            out.append((kind, body))
        return out

    def request(self, what: str, kind: int, flags: int, body: bytes, ok: tuple[int, ...] = ()) -> None:
        """Send one change and wait for its acknowledgement."""
        try:
            seq = self._send(kind, flags | NLM_F_ACK, body)
            while True:
                for mkind, mbody in self._messages(seq) or []:
                    if mkind == NLMSG_ERROR:
                        (code,) = struct.unpack_from("=i", mbody)
                        if code == 0 or -code in ok:
                            return
                        raise NetlinkError(f"{what}: {errno_mod.errorcode.get(-code, -code)}")
        except OSError as exc:
            raise NetlinkError(f"{what}: {exc.strerror or exc}") from None

    def dump(self, what: str, kind: int, body: bytes) -> list[tuple[int, bytes]]:
        try:
            seq = self._send(kind, NLM_F_DUMP, body)
            out: list[tuple[int, bytes]] = []
            while True:
                for mkind, mbody in self._messages(seq) or []:
                    if mkind == NLMSG_DONE:
                        return out
                    if mkind == NLMSG_ERROR:
                        (code,) = struct.unpack_from("=i", mbody)
                        if code:
                            raise NetlinkError(f"{what}: {os.strerror(-code)}")
                        continue
                    out.append((mkind, mbody))
        except OSError as exc:
            raise NetlinkError(f"{what}: {exc.strerror or exc}") from None

    # -- reads ---------------------------------------------------------------------------
    def links(self) -> list[tuple[int, str, str, str | None, str | None, int | None, bool]]:
        """(index, name, mac, permanent mac, kind, master, up) of every link."""
        out = []
        for kind, body in self.dump("list links", RTM_GETLINK, _IFINFO.pack(0, 0, 0, 0, 0)):
            if kind != RTM_NEWLINK or len(body) < _IFINFO.size:
                continue
            _family, _type, index, flags, _change = _IFINFO.unpack_from(body)
            attrs = parse_attrs(body[_IFINFO.size :])
            name = attrs.get(IFLA_IFNAME, b"").rstrip(b"\0").decode()
            info = parse_attrs(attrs[IFLA_LINKINFO]) if IFLA_LINKINFO in attrs else {}
            link_kind = info[IFLA_INFO_KIND].rstrip(b"\0").decode() if IFLA_INFO_KIND in info else None
            master = struct.unpack("=I", attrs[IFLA_MASTER])[0] if IFLA_MASTER in attrs else None
            perm = _mac(attrs.get(IFLA_PERM_ADDRESS)) or None
            out.append((index, name, _mac(attrs.get(IFLA_ADDRESS)), perm, link_kind, master, bool(flags & IFF_UP)))
        return out

    def addresses(self, index: int) -> list[tuple[bytes, int]]:
        """(raw address, prefix length) of every address of link `index`."""
        out = []
        for kind, body in self.dump("list addresses", RTM_GETADDR, _IFADDR.pack(0, 0, 0, 0, 0)):
            if kind != RTM_NEWADDR or len(body) < _IFADDR.size:
                continue
            _family, plen, _flags, _scope, ifindex = _IFADDR.unpack_from(body)
            if ifindex != index:
                continue
            attrs = parse_attrs(body[_IFADDR.size :])
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if raw:
                out.append((raw, plen))
        return out

    # -- changes -------------------------------------------------------------------------
    def set_link(self, what: str, index: int, *, up: bool = False, mtu: int | None = None) -> None:
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)
        if mtu is not None:
            body += attr(IFLA_MTU, struct.pack("=I", mtu))
        self.request(what, RTM_NEWLINK, 0, body)

    def address(self, what: str, index: int, family: int, raw: bytes, prefixlen: int, *, command: str,
                broadcast: bytes | None = None, lifetimes: tuple[int, int] | None = None,
                noprefixroute: bool = False, route_metric: int | None = None, ok: tuple[int, ...] = ()) -> None:
        body = _IFADDR.pack(family, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
        body += attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw)
        if broadcast is not None:
            body += attr(IFA_BROADCAST, broadcast)
        if noprefixroute:
            body += attr(IFA_FLAGS, struct.pack("=I", IFA_F_NOPREFIXROUTE))
        if route_metric is not None:  # the metric of the prefix route the kernel adds
            body += attr(IFA_RT_PRIORITY, struct.pack("=I", route_metric))
        if lifetimes is not None:
            body += attr(IFA_CACHEINFO, struct.pack("=IIII", lifetimes[0], lifetimes[1], 0, 0))
        kind, flags = {"add": (RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL),
                       "replace": (RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE),
                       "del": (RTM_DELADDR, 0)}[command]  # fmt: skip
        self.request(what, kind, flags, body, ok=ok)

    def replace_route(self, what: str, index: int, family: int, dst: bytes, dst_len: int, *,
                      gateway: bytes | None, metric: int | None, prefsrc: bytes | None, protocol: int) -> None:
        scope = RT_SCOPE_UNIVERSE if gateway else RT_SCOPE_LINK
        body = _RTMSG.pack(family, dst_len, 0, 0, RT_TABLE_MAIN, protocol, scope, RTN_UNICAST, 0)
        if dst_len:
            body += attr(RTA_DST, dst)
        body += attr(RTA_OIF, struct.pack("=I", index)) + attr(RTA_TABLE, struct.pack("=I", RT_TABLE_MAIN))
        if gateway:
            body += attr(RTA_GATEWAY, gateway)
        if metric is not None:
            body += attr(RTA_PRIORITY, struct.pack("=I", metric))
        if prefsrc:
            body += attr(RTA_PREFSRC, prefsrc)
        self.request(what, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body)
