"""The DHCPv4 client's packet socket, in a namespace of the rig (the exchange itself runs
against dnsmasq in test_apply_rig.py)."""

from __future__ import annotations

import json
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


_CLOSE = """
import os, sys, threading
from netdog import dhcp4
sock = dhcp4.open_packet_socket(sys.argv[1])
dhcp4.close_packet_socket(sock)
(child,) = dhcp4._closers
exited = os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet
print("closed", sock.fileno(), "status", exited.si_status)
dhcp4.close_packet_socket(dhcp4.open_packet_socket(sys.argv[1]))  # reaps the first child
try:
    os.waitpid(child, os.WNOHANG)
except ChildProcessError:
    print("reaped", child not in dhcp4._closers, len(dhcp4._closers))
stop = threading.Event()
worker = threading.Thread(target=stop.wait)
worker.start()
before = list(dhcp4._closers)
third = dhcp4.open_packet_socket(sys.argv[1])
dhcp4.close_packet_socket(third)
stop.set()
worker.join()
print("threaded", third.fileno(), dhcp4._closers == before)
"""


def test_closing_hands_the_release_to_a_child_that_is_reaped(rig: Rig) -> None:
    """The caller's socket is closed at once and a child, exiting 0, releases the last
    reference (the kernel's RCU wait is not this process's); the next call reaps it.
    With another thread running nothing is forked: the socket is closed in place."""
    _s0, c0 = rig.veth()
    _ip("-n", rig.client, "link", "set", c0, "up")
    done = subprocess.run(["ip", "netns", "exec", rig.client, sys.executable, "-c", _CLOSE, c0],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["closed -1 status 0", "reaped True 1", "threaded -1 True"]


_KEEP = """
import json, os, socket, sys
from netdog.dhcp4 import _keep_only
keep, report = socket.socketpair()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    _keep_only(keep.fileno())
    fds = sorted(int(n) for n in os.listdir("/proc/self/fd"))
    os.write(keep.fileno(), json.dumps(fds).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(keep.fileno(), report.recv(4096).decode())
"""


def test_the_closer_child_keeps_no_other_descriptor() -> None:
    """A caller's pipes (stdout, stderr, the netlink socket) are closed in the child at
    once, so nothing reading the command's output waits for the socket's release."""
    done = subprocess.run([sys.executable, "-c", _KEEP], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    keep, fds = done.stdout.split(" ", 1)
    listed = json.loads(fds)
    assert int(keep) in listed and len(listed) == 2  # the socket and listdir's own handle
