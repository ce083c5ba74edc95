"""The namespace rig of RIGS.md: two network namespaces joined by a veth pair created
inside them (the host's own namespace is never touched), dnsmasq serving DHCP in
one, Kindling run in the other with `ip netns exec`. Everything is removed by name
or pid on teardown, also when a test fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need_root

__all__ = ["KINDLING", "Rig", "kernel_supports"]

KINDLING = str(Path(sys.executable).parent / "kindling")
_SEQ = count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@dataclass
class Rig:
    """Namespace `server` (dnsmasq side) and `client`; veths named `s<i>`/`c<i>`."""

    tmp: Path
    server: str = ""
    client: str = ""
    dnsmasq: list[subprocess.Popen[bytes]] = field(default_factory=list)
    pairs: int = 0

    def __post_init__(self) -> None:
        n = next(_SEQ)
        self.server = f"kdS{os.getpid()}x{n}"
        self.client = f"kdC{os.getpid()}x{n}"
        for ns in (self.server, self.client):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")

    def veth(self, server_addr: str | None = None) -> tuple[str, str]:
        """A new pair: `s<i>` in the server namespace (up, addressed), `c<i>` in the client."""
        i = self.pairs
        self.pairs += 1
        s, c = f"s{i}", f"c{i}"
        _ip("-n", self.server, "link", "add", s, "type", "veth", "peer", "name", c,
            "netns", self.client)
        if server_addr:
            _ip("-n", self.server, "addr", "add", server_addr, "dev", s)
        _ip("-n", self.server, "link", "set", s, "up")
        return s, c

    def serve_dhcp(self, iface: str, subnet: str, *extra: str) -> Path:
        """dnsmasq (`--no-ping`, DNS off) on `iface` for `subnet` like 10.213.0."""
        log = self.tmp / f"dnsmasq-{iface}.log"
        argv = [
            "ip", "netns", "exec", self.server, "dnsmasq", "--no-daemon",
            "--conf-file=/dev/null", "--port=0", f"--interface={iface}", "--bind-interfaces",
            f"--dhcp-range={subnet}.10,{subnet}.50,255.255.255.0,120s",
            f"--dhcp-option=option:router,{subnet}.1",
            f"--dhcp-option=option:dns-server,{subnet}.1",
            f"--dhcp-leasefile={self.tmp}/leases-{iface}", "--pid-file=", "--log-dhcp",
            "--no-ping", "--dhcp-authoritative", *extra,
        ]
        self.dnsmasq.append(subprocess.Popen(argv, stdout=log.open("wb"),
                                             stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30  # slow under software emulation (qemu guest)
        while "started" not in log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError("dnsmasq did not start: " + log.read_text())
            time.sleep(0.02)
        return log

    def serve_dhcp6(self, iface: str, prefix: str, *extra: str) -> Path:
        """dnsmasq DHCPv6 (stateful) on `iface` for `prefix` like 2001:db8:1:: with DNS."""
        log = self.tmp / f"dnsmasq6-{iface}.log"
        argv = [
            "ip", "netns", "exec", self.server, "dnsmasq", "--no-daemon",
            "--conf-file=/dev/null", "--port=0", f"--interface={iface}", "--bind-interfaces",
            f"--dhcp-range={prefix}10,{prefix}50,64,120s",
            f"--dhcp-option=option6:dns-server,[{prefix}1]",
            "--dhcp-option=option6:domain-search,corp6.example",
            f"--dhcp-leasefile={self.tmp}/leases6-{iface}", "--pid-file=", "--log-dhcp",
            "--dhcp-authoritative", *extra,
        ]
        self.dnsmasq.append(subprocess.Popen(argv, stdout=log.open("wb"),
                                             stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30
        while "DHCPv6" not in log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError("dnsmasq (DHCPv6) did not start: " + log.read_text())
            time.sleep(0.05)
        return log

    def kindling(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.client, KINDLING, *args],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def client_json(self, *args: str) -> Any:
        out = _ip("-n", self.client, "-j", *args).stdout
        return json.loads(out) if out.strip() else []

    def close(self) -> None:
        for proc in self.dnsmasq:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for ns in (self.server, self.client):
            _ip("netns", "del", ns, check=False)


def kernel_supports(kind: str) -> bool:
    """Can this kernel create a `bond` or `vlan` link? Probed in a throwaway namespace
    (this VM's own kernel has neither; they are built for the qemu guest kernels)."""
    ns = f"kdP{os.getpid()}x{next(_SEQ)}"
    _ip("netns", "add", ns)
    try:
        if kind == "vlan":
            _ip("-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb")
            cmd = ["link", "add", "link", "pa", "name", "probe0", "type", "vlan", "id", "5"]
        else:
            cmd = ["link", "add", "probe0", "type", kind]
        return _ip("-n", ns, *cmd, check=False).returncode == 0
    finally:
        _ip("netns", "del", ns, check=False)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """A rig for one test (needs root), closed however the test ends."""
    need_root()
    r = Rig(tmp_path)
    try:
        yield r
    finally:
        r.close()


def write_net_toml(root: Path, text: str) -> None:
    """Plant `text` as the node's /var/lib/kindling/net.toml under `root`."""
    p = root / "var/lib/kindling/net.toml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
