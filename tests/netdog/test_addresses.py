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
