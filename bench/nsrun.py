"""Run boot commands in a throwaway namespace sandbox and time each one from inside.

`unshare --mount --net --uts --ipc --pid --fork` gives the commands their own mount
table, network (lo plus veth eth0/eth1, nothing routed; optionally a
dnsmasq answering DHCP on eth0's peer, started before the clock runs), hostname and pid space, so
neither cloud-init nor Kindling can touch the host's network, hostname or mounts; every
mount made inside (overlay, proc, sysfs, tmpfs) disappears with the namespace — there
is nothing to undo on the host, even after a crash. Both sides of a comparison go
through the same wrapper and are timed the same way: a microsecond timestamp right
before and right after each command, read by the wrapper shell without forking.
"""

from __future__ import annotations

import math
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.measure import GNU_TIME, Sample, clean_env, run_once

__all__ = ["Chroot", "SandboxRun", "StageTime", "parse_stages", "run_sandboxed", "sandbox_argv"]

MARK = "@@stage"


@dataclass(frozen=True)
class Chroot:
    """An overlay root: the cached, never-written `lower` under a per-run `upper`."""

    lower: Path
    upper: Path
    work: Path
    mountpoint: Path


@dataclass(frozen=True)
class StageTime:
    name: str
    ms: float
    rc: int
    rss_mb: float  # peak RSS of the stage's command (GNU time), NaN if unknown


def _setup_chroot(c: Chroot) -> list[str]:
    m = shlex.quote(str(c.mountpoint))
    opts = f"lowerdir={c.lower},upperdir={c.upper},workdir={c.work}"
    return [
        f"mount -t overlay overlay -o {shlex.quote(opts)} {m}",
        f"mount -t proc proc {m}/proc",
        f"mount -t sysfs sysfs {m}/sys",
        f"mount -t tmpfs -o mode=0755 tmpfs {m}/run",
        f"mount -t tmpfs -o mode=1777 tmpfs {m}/tmp",
        f"mount -t tmpfs -o mode=0755 tmpfs {m}/dev",
        f"mknod -m 666 {m}/dev/null c 1 3",
        f"mknod -m 666 {m}/dev/zero c 1 5",
        f"mknod -m 666 {m}/dev/random c 1 8",
        f"mknod -m 666 {m}/dev/urandom c 1 9",
        f"mkdir -p {m}/dev/pts {m}/dev/shm",
        f"ln -s /proc/self/fd {m}/dev/fd",
    ]


def sandbox_argv(
    stages: Sequence[tuple[str, Sequence[str]]],
    *,
    chroot: Chroot | None = None,
    log: Path | None = None,
    rss_dir: Path | None = None,
    dhcp_server: bool = False,
    tmpfs: Sequence[Path] = (),
) -> list[str]:
    """argv for the whole sandboxed sequence; each stage runs in order (a failing stage
    does not stop the next, as systemd runs cloud-init's units), and prints
    `@@stage NAME START END RC` (bash's $EPOCHREALTIME: no fork to read the clock) on stdout.
    `tmpfs`: directories that get a fresh tmpfs first (a `--root`'s /run, as the chroot's
    /run and every systemd node's are: both sides then write /run to memory)."""
    out = shlex.quote(str(log)) if log else "/dev/null"
    lines = ["set -e", *(_setup_chroot(chroot) if chroot else [])]
    lines += [f"mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(str(d))}" for d in tmpfs]
    lines += [
        "ip link set lo up",
        # fixed addresses, as an instance's NICs keep theirs across reboots (a random MAC
        # gives a new IPv6 link-local address, so a later boot's current_ip changed each time)
        "ip link add eth0 address 02:6b:6e:00:00:10 type veth peer name eth0p address 02:6b:6e:00:00:11"
        " && ip link set eth0 up",
        "ip link add eth1 address 02:6b:6e:00:00:20 type veth peer name eth1p address 02:6b:6e:00:00:21"
        " && ip link set eth1 up",
        "hostname localhost",
    ]
    if dhcp_server:  # a lease for whoever asks on eth0 (Kindling's netdog does; cloud-init's stages do not)
        leases = shlex.quote(str(rss_dir / "leases")) if rss_dir else "/dev/null"
        lines += [
            "ip addr add 10.213.0.1/24 dev eth0p && ip link set eth0p up",
            "dnsmasq --conf-file=/dev/null --port=0 --interface=eth0p --bind-interfaces --no-ping"
            " --dhcp-range=10.213.0.10,10.213.0.250,255.255.255.0,120s --dhcp-authoritative"
            f" --dhcp-leasefile={leases} --pid-file= </dev/null >/dev/null 2>&1",
        ]
    lines.append("set +e")
    for i, (name, argv) in enumerate(stages):
        cmd = " ".join(shlex.quote(a) for a in argv)
        if chroot:
            cmd = f"chroot {shlex.quote(str(chroot.mountpoint))} {cmd}"
        rss = "-"
        if rss_dir is not None:  # GNU time runs outside the chroot: the root needs no copy of it
            rss_file = shlex.quote(str(rss_dir / f"rss.{i}"))
            cmd = f"{GNU_TIME} -f %M -o {rss_file} {cmd}"
            rss = f"$(tail -n 1 {rss_file} 2>/dev/null || echo -)"
        lines += [
            "t0=$EPOCHREALTIME",
            f"{cmd} >>{out} 2>&1",
            "rc=$?",
            "t1=$EPOCHREALTIME",
            f'echo "{MARK} {name} $t0 $t1 $rc {rss}"',
        ]
    script = "\n".join(lines)
    return [
        "unshare", "--mount", "--net", "--uts", "--ipc", "--pid", "--fork", "--propagation", "private",
        "bash", "-c", script,
    ]  # fmt: skip


def parse_stages(stdout: str) -> list[StageTime]:
    stages = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[0] == MARK:
            rss = int(parts[5]) / 1024 if parts[5].isdigit() else float("nan")
            stages.append(StageTime(parts[1], (float(parts[3]) - float(parts[2])) * 1000, int(parts[4]), rss))
    return stages


@dataclass(frozen=True)
class SandboxRun:
    stages: list[StageTime]
    sample: Sample  # the whole wrapper: maxrss is the peak of its biggest process

    def total_ms(self, names: Sequence[str] | None = None) -> float:
        return sum(s.ms for s in self.stages if names is None or s.name in names)

    def failed(self) -> list[StageTime]:
        return [s for s in self.stages if s.rc != 0]

    def peak(self) -> Sample:
        """The run as one Sample: summed stage time, the largest stage's peak RSS."""
        rss = [s.rss_mb for s in self.stages if not math.isnan(s.rss_mb)]
        return Sample(self.total_ms(), self.sample.cpu_ms, max(rss) if rss else float("nan"),
                      max((s.rc for s in self.stages), default=0), "", "")  # fmt: skip


def run_sandboxed(
    stages: Sequence[tuple[str, Sequence[str]]],
    *,
    chroot: Chroot | None = None,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    dhcp_server: bool = False,
    tmpfs: Sequence[Path] = (),
) -> SandboxRun:
    rss_dir = Path(tempfile.mkdtemp(prefix="kindling-bench-rss-"))
    try:
        argv = sandbox_argv(stages, chroot=chroot, log=log, rss_dir=rss_dir, dhcp_server=dhcp_server, tmpfs=tmpfs)
        sample = run_once(argv, env=env or clean_env(), timeout=timeout, rss=False)
    finally:
        shutil.rmtree(rss_dir, ignore_errors=True)
    got = parse_stages(sample.stdout)
    if len(got) != len(stages):
        raise RuntimeError(f"sandbox setup failed (exit {sample.rc}): {sample.stderr.strip()[-300:]}")
    return SandboxRun(got, sample)
