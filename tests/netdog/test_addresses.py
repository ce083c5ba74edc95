"""The stdlib rtnetlink address dump agrees with the kernel, in a namespace we own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netdog.errors import NetlinkError
from netdog.rtnl import Rtnl

REPO = Path(__file__).resolve().parents[2]


class _OneAnswer:
    """A netlink socket stand-in whose every recv() returns the same chunk."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk

    def send(self, data: bytes) -> None:
        pass

    def recv(self, size: int) -> bytes:
        return self.chunk


def test_error_message_is_raised() -> None:
    # nlmsghdr(len=36, type=NLMSG_ERROR, seq=1) + errno -19 (ENODEV) + the echoed header
    import struct

    msg = struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", -19) + bytes(16)
    rt = Rtnl.__new__(Rtnl)
    rt.sock, rt.seq = _OneAnswer(msg), 0  # type: ignore[assignment]
    with pytest.raises(NetlinkError, match="No such device"):
        rt.dump("list addresses", 22, b"")


def test_dump_in_a_private_namespace() -> None:
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 to create a network namespace")
    ns = f"kdaddr{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        def ip(*args: str) -> None:
            subprocess.run(["ip", "-n", ns, *args], check=True)

        ip("link", "add", "kva", "type", "veth", "peer", "name", "kvb")
        ip("addr", "add", "198.51.100.7/24", "dev", "kva")
        ip("addr", "add", "198.51.100.8/24", "dev", "kva")
        ip("addr", "add", "2001:db8::7/64", "dev", "kva", "nodad")
        ip("link", "set", "kva", "up")
        code = ("from netdog.addresses import link_addresses; "
                "print(' '.join(map(str, link_addresses('kva'))));"
                "import sys\ntry:\n link_addresses('nope0')\nexcept Exception as e: print(type(e).__name__)")
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], check=True,
                             capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO))).stdout
        first, second = out.splitlines()
        addresses = first.split()
        assert addresses[:3] == ["198.51.100.7", "198.51.100.8", "2001:db8::7"]
        assert all(a.startswith("fe80::") for a in addresses[3:])
        assert second == "NetlinkError"
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_link_address_reads_as_ipaddress_reads_the_same_bytes() -> None:
    """`LinkAddress` stands in for `ipaddress` on the boot path: family, link-local, text,
    equality, over the edges of both link-local ranges and IPv6's text forms."""
    import ipaddress
    import random

    from netdog.addresses import LinkAddress

    texts = ["0.0.0.0", "169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0", "10.1.2.3",
             "255.255.255.255", "::", "::1", "fe80::", "fe80::1", "febf:ffff::1", "fec0::1", "fe7f::1",
             "2001:db8::5", "2001:db8:0:0:1:0:0:1", "::ffff:192.0.2.1", "::192.0.2.1", "64:ff9b::1.2.3.4",
             "1:0:0:1:0:0:0:1", "ff02::1"]
    rng = random.Random(20)
    raws = [ipaddress.ip_address(t).packed for t in texts]
    raws += [bytes(rng.getrandbits(8) for _ in range(n)) for n in (4, 16) for _ in range(300)]
    raws += [bytes([0xFE, rng.getrandbits(8)]) + bytes(14) for _ in range(100)]
    raws += [b"".join(rng.choice([b"\0\0", b"\0\0", b"\0\1", b"\xab\x0c"]) for _ in range(8)) for _ in range(2000)]
    raws += [bytes([169, 254 if rng.random() < 0.5 else rng.getrandbits(8)]) + bytes(2) for _ in range(100)]
    for raw in raws:
        ours, theirs = LinkAddress(raw), ipaddress.ip_address(raw)
        assert (ours.version, ours.is_link_local, str(ours)) == (theirs.version, theirs.is_link_local, str(theirs))
        assert ours == LinkAddress(raw) and hash(ours) == hash(LinkAddress(raw))
    with pytest.raises(ValueError, match="4 or 16 bytes"):
        LinkAddress(b"\x01\x02")
