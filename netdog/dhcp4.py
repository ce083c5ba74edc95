"""A DHCPv4 client on the stdlib's packet sockets: DISCOVER, OFFER, REQUEST, ACK (RFC 2131).

`kindling netdog apply` obtains a lease on every boot of a node without networkd;
with pyroute2's client the command spent 100-170 ms importing for a 3-27 ms exchange
(issue 20: within 3x of `dhclient -1`). The client sends IPv4/UDP datagrams on an
`AF_PACKET`/`SOCK_DGRAM` socket bound to the interface (the kernel adds the Ethernet
header; no address is needed yet) and asks the server to broadcast its answers, as
dhclient does. Retransmission: 1 s, then doubling with jitter up to 16 s, within the
caller's deadline (a DISCOVER sent before the peer was ready costs one second, not
pyroute2's four). A NAK restarts from DISCOVER. The socket's release (an RCU grace
period in the kernel) is left to a forked child: `close_packet_socket`.

The ACK is kept as pyroute2's `JSONFileLease` writes it (`<ifname>.lease.json`: the
ack's fields and options by pyroute2's names, the server's MAC, when it was obtained),
so `kindling netdog dhcp`, which renews with pyroute2's client, reads it back as before.
"""

from __future__ import annotations

# The C socket type, not the `socket` module (its enum conversions and `selectors`:
# ~1 ms of import on every lease), as netdog/rtnl.py: `_socket` has every call used here.
import _socket as socket
import json
import os
import select
import struct
import sys
import time

from netdog.errors import NetlinkError

__all__ = ["Ack", "acquire4", "build_packet", "close_packet_socket", "open_packet_socket", "parse_packet"]

ETH_P_IP = 0x0800
_COOKIE = b"\x63\x82\x53\x63"
_BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK = 1, 2, 3, 4, 5, 6
# option code -> (pyroute2 name, kind): kinds "ip", "ips", "u32", "u16", "u8", "str", "search"
_OPTIONS: dict[int, tuple[str, str]] = {
    1: ("subnet_mask", "ip"), 3: ("router", "ips"), 6: ("name_server", "ips"), 12: ("host_name", "str"),
    15: ("domain_name", "str"), 26: ("interface_mtu", "u16"), 28: ("broadcast_address", "ip"),
    51: ("lease_time", "u32"), 53: ("message_type", "u8"), 54: ("server_id", "ip"),
    58: ("renewal_time", "u32"), 59: ("rebinding_time", "u32"), 119: ("domain_search", "search"),
}  # fmt: skip
_REQUESTED = bytes([1, 3, 6, 15, 119, 26, 51, 58, 59])


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def build_packet(kind: int, xid: int, mac: bytes, options: dict[int, bytes], secs: int = 0) -> bytes:
    """An IPv4/UDP datagram 0.0.0.0:68 -> 255.255.255.255:67 carrying one DHCP message."""
    bootp = _BOOTP.pack(1, 1, 6, 0, xid, secs, 0x8000, b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4,
                        mac.ljust(16, b"\0"), b"", b"")  # fmt: skip
    opts = bytes([53, 1, kind])
    for code, value in options.items():
        opts += bytes([code, len(value)]) + value
    payload = bootp + _COOKIE + opts + b"\xff"
    payload += b"\0" * max(0, 300 - len(payload))  # BOOTP minimum, as dhclient pads
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0x10, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     b"\0" * 4, b"\xff" * 4)  # fmt: skip
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ip + udp


def _ip(raw: bytes) -> str:
    return socket.inet_ntoa(raw)


def _decode_search(raw: bytes) -> list[str]:
    """RFC 3397 domain search list (DNS name encoding, with compression pointers)."""
    names: list[str] = []
    offset = 0
    while offset < len(raw):
        labels: list[str] = []
        pos, jumped, end = offset, False, offset
        for _ in range(128):
            if pos >= len(raw):
                break
            length = raw[pos]
            if length == 0:
                pos += 1
                break
            if length & 0xC0 == 0xC0:
                if pos + 1 >= len(raw):
                    break
                if not jumped:
                    end = pos + 2
                pos, jumped = ((length & 0x3F) << 8) | raw[pos + 1], True
                continue
            labels.append(raw[pos + 1 : pos + 1 + length].decode("ascii", "replace"))
            pos += 1 + length
        offset = end if jumped else pos
        if labels:
            names.append(".".join(labels))
    return names


class Ack:
    """A server's answer: the BOOTP fields and the decoded options (pyroute2's names)."""

    __slots__ = ("fields", "options", "server_mac")

    def __init__(self, fields: dict[str, object], options: dict[str, object], server_mac: str) -> None:
        self.fields = fields
        self.options = options
        self.server_mac = server_mac

    @property
    def kind(self) -> int:
        value = self.options.get("message_type", 0)
        return value if isinstance(value, int) else 0

    @property
    def yiaddr(self) -> str:
        return str(self.fields["yiaddr"])


def parse_packet(packet: bytes, xid: int, server_mac: str = "") -> Ack | None:
    """The DHCP reply in an IPv4 datagram (UDP to port 68, our xid), or None."""
    if len(packet) < 28 or packet[0] >> 4 != 4 or packet[9] != socket.IPPROTO_UDP:
        return None
    ihl = (packet[0] & 0xF) * 4
    _sport, dport, _len, _sum = struct.unpack_from("!HHHH", packet, ihl)
    body = packet[ihl + 8 :]
    if dport != 68 or len(body) < _BOOTP.size + 4 or body[_BOOTP.size : _BOOTP.size + 4] != _COOKIE:
        return None
    (op, htype, hlen, hops, mxid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname,
     file_) = _BOOTP.unpack_from(body)  # fmt: skip
    if op != 2 or mxid != xid:
        return None
    fields: dict[str, object] = {
        "op": op, "htype": htype, "hlen": hlen, "hops": hops, "xid": mxid, "secs": secs, "flags": flags,
        "ciaddr": _ip(ciaddr), "yiaddr": _ip(yiaddr), "siaddr": _ip(siaddr), "giaddr": _ip(giaddr),
        "chaddr": ":".join(f"{b:02x}" for b in chaddr[:hlen]), "sname": sname.rstrip(b"\0").decode("latin-1"),
        "file": file_.rstrip(b"\0").decode("latin-1"), "cookie": "63:82:53:63",
    }  # fmt: skip
    options: dict[str, object] = {}
    raw = body[_BOOTP.size + 4 :]
    pos = 0
    while pos < len(raw):
        code = raw[pos]
        if code == 255:
            break
        if code == 0:
            pos += 1
            continue
        if pos + 1 >= len(raw):
            break
        length = raw[pos + 1]
        value = raw[pos + 2 : pos + 2 + length]
        pos += 2 + length
        known = _OPTIONS.get(code)
        if known is None:
            continue
        name, kind = known
        try:
            if kind == "ip":
                options[name] = _ip(value[:4])
            elif kind == "ips":
                options[name] = [_ip(value[i : i + 4]) for i in range(0, len(value) - 3, 4)]
            elif kind == "u32":
                options[name] = struct.unpack("!I", value[:4])[0]
            elif kind == "u16":
                options[name] = struct.unpack("!H", value[:2])[0]
            elif kind == "u8":
                options[name] = value[0]
            elif kind == "search":
                options[name] = _decode_search(value)
            else:
                options[name] = value.rstrip(b"\0").decode("utf-8", "replace")
        except (struct.error, OSError, IndexError):
            continue
    return Ack(fields, options, server_mac)


def _mac_of(ifname: str) -> bytes:
    with open(f"/sys/class/net/{ifname}/address", encoding="ascii") as fh:
        return bytes.fromhex(fh.read().strip().replace(":", ""))


def open_packet_socket(ifname: str) -> socket.socket:
    """An IPv4 packet socket bound to `ifname`. Created with protocol 0 (receiving
    nothing), then bound with ETH_P_IP: a socket created with a protocol is already
    hooked into every interface, and re-binding it unhooks it first, which waits for
    an RCU grace period (synchronize_net, 12-16 ms here, on every boot); binding an
    unhooked one is immediate. Nothing is lost: nothing is sent before the bind."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, 0)
    try:
        sock.bind((ifname, ETH_P_IP))
    except OSError:
        sock.close()
        raise
    return sock


_closers: list[int] = []  # children still releasing a packet socket, reaped on a later call


def _keep_only(fd: int) -> None:
    """Close every descriptor but `fd`: the closer child must hold no pipe of the
    caller's (a shell reading `netdog apply`'s output would wait for it)."""
    os.closerange(0, fd)
    os.closerange(fd + 1, os.sysconf("SC_OPEN_MAX"))


def close_packet_socket(sock: socket.socket) -> None:
    """Close a packet socket without this process waiting for its release.

    The kernel frees a packet socket only after an RCU grace period (`packet_release`
    calls `synchronize_net()` whatever the socket's state: unbinding first, or having no
    filter, changes nothing), 8-20 ms here, which a one-shot `netdog apply` would spend
    idle in `close()` or, unclosed, in `exit_group()`. dhclient's foreground process never
    pays it because its daemon keeps the socket. Here a forked child that holds nothing
    else keeps the last reference and releases it by exiting (no Python teardown, no
    buffered output flushed twice); this process's close only drops its own reference.
    With other threads running (several leases at once) forking is not safe: the socket
    is closed here. Alternatives measured and rejected: docs/CONTRACT-NOTES.md."""
    for pid in list(_closers):  # children of an earlier call, in a caller that lives on
        try:
            done = os.waitpid(pid, os.WNOHANG)[0] != 0
        except ChildProcessError:
            done = True
        if done:
            _closers.remove(pid)
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        sock.close()
        return
    try:
        pid = os.fork()
    except OSError:
        sock.close()
        return
    if pid == 0:
        try:
            _keep_only(sock.fileno())
        finally:
            os._exit(0)
    _closers.append(pid)
    sock.close()


class _Client:
    """One interface's exchange, driven by `acquire4`'s select loop."""

    def __init__(self, ifname: str, mac: bytes | None) -> None:
        self.ifname = ifname
        try:
            self.mac = mac or _mac_of(ifname)
            self.sock = open_packet_socket(ifname)
        except OSError as exc:
            raise NetlinkError(f"interface {ifname}: dhcp4: {exc.strerror or exc}") from None
        self.sock.setblocking(False)
        self.xid = int.from_bytes(os.urandom(4), "big")
        self.state = DISCOVER
        self.offer: Ack | None = None
        self.delay = 1.0
        self.next_send = 0.0
        self.started = time.monotonic()

    def _options(self) -> dict[int, bytes]:
        opts = {55: _REQUESTED, 57: struct.pack("!H", 1500), 60: b"kindling"}
        if self.state == REQUEST and self.offer is not None:
            opts[50] = socket.inet_aton(self.offer.yiaddr)
            opts[54] = socket.inet_aton(str(self.offer.options.get("server_id", "0.0.0.0")))
        return opts

    def send(self, now: float) -> None:
        secs = min(int(now - self.started), 0xFFFF)
        packet = build_packet(self.state, self.xid, self.mac, self._options(), secs)
        try:
            self.sock.sendto(packet, (self.ifname, ETH_P_IP, 0, 0, b"\xff" * 6))
        except OSError as exc:
            raise NetlinkError(f"interface {self.ifname}: dhcp4: {exc.strerror or exc}") from None
        jitter = (os.urandom(1)[0] / 255.0 - 0.5) * 0.2 * self.delay
        self.next_send = now + self.delay + jitter
        self.delay = min(self.delay * 2, 16.0)

    def receive(self, now: float) -> Ack | None:
        """Process what arrived; the ACK when the lease is bound."""
        while True:
            try:
                packet, addr = self.sock.recvfrom(4096)
            except BlockingIOError:
                return None
            except OSError as exc:
                raise NetlinkError(f"interface {self.ifname}: dhcp4: {exc.strerror or exc}") from None
            server_mac = ":".join(f"{b:02x}" for b in addr[4]) if len(addr) > 4 else ""
            msg = parse_packet(packet, self.xid, server_mac)
            if msg is None:
                continue
            if self.state == DISCOVER and msg.kind == OFFER:
                self.offer, self.state, self.delay = msg, REQUEST, 1.0
                self.send(now)
            elif self.state == REQUEST and msg.kind == ACK:
                return msg
            elif self.state == REQUEST and msg.kind == NAK:
                self.offer, self.state, self.delay = None, DISCOVER, 1.0
                self.xid = int.from_bytes(os.urandom(4), "big")
                self.send(now)

    def close(self) -> None:
        close_packet_socket(self.sock)


def lease_json(ifname: str, ack: Ack, obtained: float) -> str:
    """The lease as pyroute2's JSONFileLease writes it (read back by `netdog dhcp`)."""
    return json.dumps({"ack": {**ack.fields, "options": ack.options}, "interface": ifname,
                       "server_mac": ack.server_mac, "obtained": obtained}, indent=2)  # fmt: skip


def acquire4(ifname: str, timeout: float, mac: bytes | None = None) -> tuple[Ack, float]:
    """The ACK for `ifname` and the monotonic time it was bound; `NetlinkError` when no
    lease arrives within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    client = _Client(ifname, mac)
    try:
        client.send(time.monotonic())
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise NetlinkError(f"interface {ifname}: dhcp4: no lease within {timeout:g}s")
            wait = max(0.0, min(client.next_send, deadline) - now)
            ready, _w, _x = select.select([client.sock], [], [], wait)
            now = time.monotonic()
            if ready:
                ack = client.receive(now)
                if ack is not None:
                    return ack, now
            if now >= client.next_send:
                client.send(now)
    finally:
        client.close()
