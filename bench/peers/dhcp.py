"""dhclient vs Kindling's DHCPv4 (`kindling netdog apply`) in the namespace rig of
RIGS.md: dnsmasq (`--no-ping`) in namespace A, the client in namespace B, a veth
between them (issue 9 §3).

Both clients start from nothing (no lease file, no address) and are timed until they
hold a lease: dhclient until its foreground process exits after binding (it then
daemonises; the daemon is killed by pid), Kindling until `netdog apply` returns with
the address configured. dhclient runs with `-sf /bin/true` so it configures nothing and
touches no /etc/resolv.conf; Kindling's side writes only under a temp --root and into
namespace B. Namespaces and daemons are removed by name/pid, also on failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

from bench.janitor import Janitor
from bench.measure import Sample, run_once
from bench.report import Budget, PairRow, Row
from bench.stats import Summary, pair_ratios, paired
from bench.target import Kindling

__all__ = ["dhcp_rows"]

SECTION = "DHCP side by side (namespace rig)"
NET_TOML = 'version = 2\n\n[eth0]\nprimary = true\ndhcp4 = true\n'


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class _Rig:
    made = 0  # rigs made by this process: the janitor removes them only at the end

    def __init__(self, janitor: Janitor) -> None:
        _Rig.made += 1
        tag = f"kb{os.getpid()}n{_Rig.made}"
        self.a, self.b = f"{tag}a", f"{tag}b"
        self.dir = janitor.tempdir("dhcp")
        _ip("netns", "add", self.a)
        janitor.push(f"netns {self.a}", lambda: janitor.run(["ip", "netns", "del", self.a]))
        _ip("netns", "add", self.b)
        janitor.push(f"netns {self.b}", lambda: janitor.run(["ip", "netns", "del", self.b]))
        janitor.push(f"processes in netns {self.b}", lambda: kill_netns_pids(self.b))
        # made inside A with its peer sent straight to B: the main namespace never sees it
        _ip("-n", self.a, "link", "add", "srv0", "type", "veth", "peer", "name", "eth0", "netns", self.b)
        _ip("-n", self.a, "addr", "add", "10.213.0.1/24", "dev", "srv0")
        for ns, dev in ((self.a, "lo"), (self.a, "srv0"), (self.b, "lo"), (self.b, "eth0")):
            _ip("-n", ns, "link", "set", dev, "up")
        self.dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", self.a, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
             "--interface=srv0", "--bind-interfaces", "--dhcp-range=10.213.0.10,10.213.0.250,255.255.255.0,120s",
             "--dhcp-option=option:router,10.213.0.1", f"--dhcp-leasefile={self.dir}/leases", "--pid-file=",
             "--no-ping", "--dhcp-authoritative"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        janitor.push(f"dnsmasq {self.dnsmasq.pid}", self._stop_dnsmasq)
        time.sleep(0.2)
        if self.dnsmasq.poll() is not None:
            raise RuntimeError(f"dnsmasq exited {self.dnsmasq.returncode}")

    def _stop_dnsmasq(self) -> None:
        self.dnsmasq.terminate()
        self.dnsmasq.wait(10)

    def reset_client(self) -> None:
        _ip("-n", self.b, "addr", "flush", "dev", "eth0")

    def client_has_lease(self) -> bool:
        out = subprocess.run(["ip", "-n", self.b, "-4", "-o", "addr", "show", "dev", "eth0"], capture_output=True,
                             text=True).stdout  # fmt: skip
        return "10.213.0." in out


def kill_netns_pids(ns: str) -> None:
    """Stop whatever runs in a namespace this benchmark created (the daemonised
    dhclient writes its pid file only after its parent exits, so the pid file races)."""
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
    pids = [int(p) for p in out.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 2
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.01)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _netdog_apply_usable(k: Kindling) -> str | None:
    if not k.has("netdog"):
        return "not present (no `kindling netdog`)"
    res = run_once(k.argv("netdog", "apply", "--help"), env=k.env())
    if res.rc != 0:
        return "not present (no `kindling netdog apply`)"
    return None


def dhcp_rows(k: Kindling, janitor: Janitor, runs: int, warmup: int) -> tuple[list[Row], list[PairRow]]:
    label_a, label_b = "`kindling netdog apply` (DHCPv4)", "`dhclient -1` (ISC)"
    pair_name = "DHCPv4 lease from dnsmasq across a veth"
    missing = [t for t in ("dnsmasq", "dhclient", "ip") if shutil.which(t) is None]
    if missing:
        return [], [PairRow(SECTION, pair_name, label_a, label_b, "ms", status=f"not present: {', '.join(missing)}")]
    absent = _netdog_apply_usable(k)
    rig = _Rig(janitor)
    leases_ok = {"kindling": 0, "dhclient": 0}

    def run_dhclient() -> Sample:
        rig.reset_client()
        d = rig.dir / f"dhclient-{time.monotonic_ns()}"
        d.mkdir()
        try:
            sample = run_once(
                ["ip", "netns", "exec", rig.b, "dhclient", "-4", "-1", "-sf", "/bin/true", "-lf", str(d / "lease"),
                 "-pf", str(d / "pid"), "eth0"],
                env=k.env(), capture=False, timeout=60,
            )  # fmt: skip
        finally:
            kill_netns_pids(rig.b)
        if sample.rc == 0 and "lease {" in (d / "lease").read_text():
            leases_ok["dhclient"] += 1
        return sample

    def run_kindling() -> Sample:
        rig.reset_client()
        root = janitor.tempdir("dhcp-root")
        (root / "var/lib/kindling").mkdir(parents=True)
        (root / "var/lib/kindling/net.toml").write_text(NET_TOML)
        sample = run_once(
            ["ip", "netns", "exec", rig.b, *k.argv("netdog", "apply", "--root", str(root), "--timeout", "20")],
            env=k.env(), timeout=60,
        )  # fmt: skip
        if sample.rc == 0 and rig.client_has_lease():
            leases_ok["kindling"] += 1
        return sample

    if absent is not None:
        b = [run_dhclient() for _ in range(warmup + runs)][warmup:]
        bv = [s.wall_ms for s in b]
        return [Row(SECTION, f"{label_b} alone", "ms", Summary.of(bv), note=f"{leases_ok['dhclient']} leases")], [
            PairRow(SECTION, pair_name, label_a, label_b, "ms", b=Summary.of(bv), status=absent)
        ]
    a, b = paired(run_kindling, run_dhclient, runs, warmup)
    k.record_rss("kindling netdog apply (DHCP rig)", a)
    av, bv = [s.wall_ms for s in a], [s.wall_ms for s in b]
    note = f"leases obtained: kindling {leases_ok['kindling']}, dhclient {leases_ok['dhclient']} (incl. warm-up)"
    status = None if all(s.rc == 0 for s in a + b) else f"failed runs: {_rcs(a, b)}"
    pair = PairRow(SECTION, pair_name, label_a, label_b, "ms", Summary.of(av), Summary.of(bv),
                   Summary.of(pair_ratios(av, bv)), Budget(">=", 0.333, "x"),
                   note=note + "; budget: kindling within 3x of dhclient (issue 20)", status=status)  # fmt: skip
    k.record_peer_rss("dhclient", [s.maxrss_mb for s in b])
    return [], [pair]


def _rcs(a: list[Sample], b: list[Sample]) -> str:
    return f"kindling exit codes {sorted({s.rc for s in a})}, dhclient {sorted({s.rc for s in b})}"


