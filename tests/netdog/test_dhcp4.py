"""The DHCPv4 client's packet socket, in a namespace of the rig (the exchange itself runs
against dnsmasq in test_apply_rig.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.netdog.rig import Rig, _ip

pytestmark = pytest.mark.rig

_OPEN = """
import sys
from netdog.dhcp4 import open_packet_socket
try:
    sock = open_packet_socket(sys.argv[1])
except OSError as exc:
    print("error", exc.errno)
else:
    name = sock.getsockname()
    print(name[0], hex(name[1]))
"""


def _open_in(rig: Rig, ifname: str) -> list[str]:
    done = subprocess.run(["ip", "netns", "exec", rig.client, sys.executable, "-c", _OPEN, ifname],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_packet_socket_is_bound_to_the_interface_for_ipv4(rig: Rig) -> None:
    """Created without a protocol (no RCU wait on bind), the socket still ends bound to
    the interface for ETH_P_IP: the bind sets the protocol the OFFER and ACK arrive by."""
    _s0, c0 = rig.veth()
    _ip("-n", rig.client, "link", "set", c0, "up")
    assert _open_in(rig, c0) == [c0, "0x800"]


def test_packet_socket_on_a_missing_interface_is_an_oserror(rig: Rig) -> None:
    assert _open_in(rig, "nope0") == ["error", "19"]  # ENODEV, turned into one line by _Client
