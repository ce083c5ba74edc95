"""DHCPv6 (stateful, IA_NA) for the direct backend — pyroute2 has no DHCPv6 client.

RFC 8415, client side, the subset a boot needs: SOLICIT → ADVERTISE → REQUEST → REPLY
for one non-temporary address, asking for DNS servers (option 23) and the domain
search list (24); RENEW at T1 (REBIND at T2) for `netdog dhcp`. The address is added
as /128 with the lease's preferred and valid lifetimes, so the kernel itself drops it
if no renewal arrives — the on-link prefix and the default route come from router
advertisements (the kernel's), exactly as networkd treats DHCPv6. Messages are
encoded and decoded by pure functions (tested without a network); the exchange runs
over a UDP socket bound to the link's port 546, after its link-local address has
finished duplicate address detection. Not done: prefix delegation, temporary
addresses, reconfigure, authentication.
"""

from __future__ import annotations

import ipaddress
import json
import os
import struct
import time
from collections.abc import Iterable

from kindling.record import record
from netdog.errors import NetlinkError

__all__ = [
    "Lease6",
    "Message",
    "acquire6",
    "build_message",
    "decode_domains",
    "lease6_from_json",
    "lease6_json",
    "parse_message",
    "renew6",
]

SOLICIT, ADVERTISE, REQUEST, RENEW, REBIND, REPLY = 1, 2, 3, 5, 6, 7
OPT_CLIENTID, OPT_SERVERID, OPT_IA_NA, OPT_IAADDR = 1, 2, 3, 5
OPT_ORO, OPT_ELAPSED, OPT_STATUS, OPT_DNS, OPT_DOMAINS = 6, 8, 13, 23, 24
ALL_SERVERS = "ff02::1:2"
_IAID = b"KDG6"


@record(frozen=True)
class Message:
    kind: int
    xid: bytes
    options: tuple[tuple[int, bytes], ...]

    def get(self, code: int) -> bytes | None:
        for c, data in self.options:
            if c == code:
                return data
        return None


@record(frozen=True)
class Lease6:
    interface: str
    address: str
    preferred: int
    valid: int
    t1: int
    t2: int
    server_id: bytes
    name_servers: tuple[str, ...]
    search: tuple[str, ...]
    bound_at: float


def _opt(code: int, data: bytes) -> bytes:
    return struct.pack("!HH", code, len(data)) + data


def _options(raw: bytes) -> tuple[tuple[int, bytes], ...]:
    out = []
    while len(raw) >= 4:
        code, length = struct.unpack("!HH", raw[:4])
        if len(raw) < 4 + length:
            raise ValueError("truncated DHCPv6 option")
        out.append((code, raw[4 : 4 + length]))
        raw = raw[4 + length :]
    return tuple(out)


def build_message(kind: int, xid: bytes, options: Iterable[tuple[int, bytes]]) -> bytes:
    return bytes([kind]) + xid + b"".join(_opt(c, d) for c, d in options)


def parse_message(raw: bytes) -> Message:
    if len(raw) < 4:
        raise ValueError("short DHCPv6 message")
    return Message(raw[0], raw[1:4], _options(raw[4:]))


def decode_domains(raw: bytes) -> tuple[str, ...]:
    """RFC 1035 wire-format names, uncompressed (RFC 8415 §10)."""
    names: list[str] = []
    labels: list[str] = []
    i = 0
    while i < len(raw):
        n = raw[i]
        i += 1
        if n == 0:
            if labels:
                names.append(".".join(labels))
            labels = []
            continue
        labels.append(raw[i : i + n].decode("ascii", "replace"))
        i += n
    if labels:
        names.append(".".join(labels))
    return tuple(names)


def duid_ll(mac: str) -> bytes:
    """DUID-LL (type 3, Ethernet): stable per interface, no clock or state needed."""
    return struct.pack("!HH", 3, 1) + bytes.fromhex(mac.replace(":", ""))


def _ia_na(t1: int = 0, t2: int = 0, addresses: Iterable[bytes] = ()) -> bytes:
    return _IAID + struct.pack("!II", t1, t2) + b"".join(addresses)


def _status_ok(options: tuple[tuple[int, bytes], ...]) -> bool:
    return all(struct.unpack("!H", d[:2])[0] == 0 for c, d in options if c == OPT_STATUS)


def lease_from_reply(msg: Message, ifname: str, bound_at: float) -> Lease6 | None:
    """The first IA_NA address of a REPLY/ADVERTISE, or None when it offers none."""
    ia = msg.get(OPT_IA_NA)
    server = msg.get(OPT_SERVERID)
    if ia is None or server is None or len(ia) < 12 or not _status_ok(msg.options):
        return None
    t1, t2 = struct.unpack("!II", ia[4:12])
    inner = _options(ia[12:])
    if not _status_ok(inner):
        return None
    for code, data in inner:
        if code == OPT_IAADDR and len(data) >= 24:
            addr = str(ipaddress.IPv6Address(data[:16]))
            preferred, valid = struct.unpack("!II", data[16:24])
            dns = msg.get(OPT_DNS) or b""
            servers = tuple(str(ipaddress.IPv6Address(dns[i : i + 16]))
                            for i in range(0, len(dns) - 15, 16))
            return Lease6(ifname, addr, preferred, valid, t1, t2, server, servers,
                          decode_domains(msg.get(OPT_DOMAINS) or b""), bound_at)
    return None


def lease6_json(lease: Lease6, obtained: float) -> str:
    """The lease as kept on disk; `obtained` is wall-clock time (monotonic clocks do not
    survive the process)."""
    return json.dumps({
        "interface": lease.interface, "address": lease.address,
        "preferred": lease.preferred, "valid": lease.valid, "t1": lease.t1, "t2": lease.t2,
        "server_id": lease.server_id.hex(), "name_servers": list(lease.name_servers),
        "search": list(lease.search), "obtained": obtained,
    }, indent=2) + "\n"


def lease6_from_json(text: str) -> tuple[Lease6, float]:
    d = json.loads(text)
    lease = Lease6(d["interface"], d["address"], int(d["preferred"]), int(d["valid"]),
                   int(d["t1"]), int(d["t2"]), bytes.fromhex(d["server_id"]),
                   tuple(d["name_servers"]), tuple(d["search"]), 0.0)
    return lease, float(d["obtained"])


def _iaaddr(lease: Lease6) -> bytes:
    return _opt(OPT_IAADDR, ipaddress.IPv6Address(lease.address).packed +
                struct.pack("!II", 0, 0))


class _Exchange:
    """One UDP socket on the link's port 546; sends with RFC 8415 retransmission."""

    def __init__(self, ifname: str, ifindex: int) -> None:
        import socket  # here, not at import: `netdog apply` reads Lease6 on every DHCPv4 lease

        self.ifname, self.ifindex = ifname, ifindex
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        self.sock.bind(("::", 546, 0, ifindex))
        self.sock.setblocking(False)

    def close(self) -> None:
        self.sock.close()

    async def ask(self, kind: int, options: list[tuple[int, bytes]], want: int,
                  deadline: float, dest: str = ALL_SERVERS) -> Message:
        import asyncio

        loop = asyncio.get_running_loop()
        xid = os.urandom(3)
        start = time.monotonic()
        rt = 1.0
        while True:
            elapsed = min(int((time.monotonic() - start) * 100), 0xFFFF)
            packet = build_message(kind, xid,
                                   [*options, (OPT_ELAPSED, struct.pack("!H", elapsed))])
            await loop.sock_sendto(self.sock, packet, (dest, 547, 0, self.ifindex))
            until = min(time.monotonic() + rt, deadline)
            while (left := until - time.monotonic()) > 0:
                try:
                    raw = await asyncio.wait_for(loop.sock_recv(self.sock, 4096), left)
                except TimeoutError:
                    break
                try:
                    msg = parse_message(raw)
                except ValueError:
                    continue
                if msg.xid == xid and msg.kind == want:
                    return msg
            if time.monotonic() >= deadline:
                raise TimeoutError
            rt = min(rt * 2, 30.0)


async def _wait_link_local(ifname: str, deadline: float) -> None:
    """DHCPv6 speaks from the link-local address: wait until DAD has finished."""
    import asyncio

    path = "/proc/net/if_inet6"  # this namespace's addresses (like netlink, not under --root)
    while True:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                f = line.split()
                # addr, ifindex, prefixlen, scope (0x20 = link), flags (0x40 = tentative)
                if f[5] == ifname and int(f[3], 16) == 0x20 and not int(f[4], 16) & 0x40:
                    return
        if time.monotonic() >= deadline:
            raise TimeoutError
        await asyncio.sleep(0.05)


async def acquire6(ifname: str, ifindex: int, mac: str, timeout: float) -> Lease6:
    """SOLICIT/ADVERTISE/REQUEST/REPLY on `ifname` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    base = [(OPT_CLIENTID, duid_ll(mac)), (OPT_ORO, struct.pack("!HH", OPT_DNS, OPT_DOMAINS))]
    try:
        await _wait_link_local(ifname, deadline)
        ex = _Exchange(ifname, ifindex)
        try:
            adv = await ex.ask(SOLICIT, [*base, (OPT_IA_NA, _ia_na())], ADVERTISE, deadline)
            offered = lease_from_reply(adv, ifname, 0.0)
            if offered is None:
                raise NetlinkError(f"interface {ifname}: dhcp6: advertise without an address")
            request = [*base, (OPT_SERVERID, offered.server_id),
                       (OPT_IA_NA, _ia_na(addresses=[_iaaddr(offered)]))]
            reply = await ex.ask(REQUEST, request, REPLY, deadline)
        finally:
            ex.close()
    except TimeoutError:
        raise NetlinkError(f"interface {ifname}: dhcp6: no lease within {timeout:g}s") from None
    except OSError as exc:
        raise NetlinkError(f"interface {ifname}: dhcp6: {exc.strerror or exc}") from None
    lease = lease_from_reply(reply, ifname, time.monotonic())
    if lease is None:
        raise NetlinkError(f"interface {ifname}: dhcp6: reply without an address")
    return lease


async def renew6(lease: Lease6, ifindex: int, mac: str, timeout: float,
                 rebind: bool = False) -> Lease6:
    """RENEW (to the server) or REBIND (to all servers) the lease's address."""
    deadline = time.monotonic() + timeout
    options = [(OPT_CLIENTID, duid_ll(mac)),
               (OPT_ORO, struct.pack("!HH", OPT_DNS, OPT_DOMAINS)),
               (OPT_IA_NA, _ia_na(addresses=[_iaaddr(lease)]))]
    if not rebind:
        options.insert(1, (OPT_SERVERID, lease.server_id))
    ex = _Exchange(lease.interface, ifindex)
    try:
        reply = await ex.ask(REBIND if rebind else RENEW, options, REPLY, deadline)
    except TimeoutError:
        raise NetlinkError(f"interface {lease.interface}: dhcp6: no reply to "
                           f"{'rebind' if rebind else 'renew'}") from None
    finally:
        ex.close()
    renewed = lease_from_reply(reply, lease.interface, time.monotonic())
    if renewed is None:
        raise NetlinkError(f"interface {lease.interface}: dhcp6: renewal refused")
    return renewed
