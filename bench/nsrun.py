"""Run boot commands in a throwaway namespace sandbox and time each one from inside.

`unshare --mount --net --uts --ipc --pid --fork` gives the commands their own mount
table, network (lo plus veth eth0/eth1, nothing routed), hostname and pid space, so
neither cloud-init nor Kindling can touch the host's network, hostname or mounts; every
mount made inside (overlay, proc, sysfs, tmpfs) disappears with the namespace — there
is nothing to undo on the host, even after a crash. Both sides of a comparison go
through the same wrapper and are timed the same way: a microsecond timestamp right
before and right after each command, read by the wrapper shell without forking.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Sample, clean_env, run_once

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
    stages: Sequence[tuple[str, Sequence[str]]], *, chroot: Chroot | None = None, log: Path | None = None
) -> list[str]:
    """argv for the whole sandboxed sequence; each stage runs in order (a failing stage
    does not stop the next, as systemd runs cloud-init's units), and prints
    `@@stage NAME START END RC` (bash's $EPOCHREALTIME: no fork to read the clock) on stdout."""
    out = shlex.quote(str(log)) if log else "/dev/null"
    lines = ["set -e", *(_setup_chroot(chroot) if chroot else [])]
    lines += [
        "ip link set lo up",
        "ip link add eth0 type veth peer name eth0p && ip link set eth0 up",
        "ip link add eth1 type veth peer name eth1p && ip link set eth1 up",
        "hostname localhost",
        "set +e",
    ]
    for name, argv in stages:
        cmd = " ".join(shlex.quote(a) for a in argv)
        if chroot:
            cmd = f"chroot {shlex.quote(str(chroot.mountpoint))} {cmd}"
        lines += [
            "t0=$EPOCHREALTIME",
            f"{cmd} >>{out} 2>&1",
            "rc=$?",
            "t1=$EPOCHREALTIME",
            f'echo "{MARK} {name} $t0 $t1 $rc"',
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
        if len(parts) == 5 and parts[0] == MARK:
            stages.append(StageTime(parts[1], (float(parts[3]) - float(parts[2])) * 1000, int(parts[4])))
    return stages


@dataclass(frozen=True)
class SandboxRun:
    stages: list[StageTime]
    sample: Sample  # the whole wrapper: maxrss is the peak of its biggest process

    def total_ms(self, names: Sequence[str] | None = None) -> float:
        return sum(s.ms for s in self.stages if names is None or s.name in names)

    def failed(self) -> list[StageTime]:
        return [s for s in self.stages if s.rc != 0]


def run_sandboxed(
    stages: Sequence[tuple[str, Sequence[str]]],
    *,
    chroot: Chroot | None = None,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> SandboxRun:
    sample = run_once(sandbox_argv(stages, chroot=chroot, log=log), env=env or clean_env(), timeout=timeout)
    got = parse_stages(sample.stdout)
    if len(got) != len(stages):
        raise RuntimeError(f"sandbox setup failed (exit {sample.rc}): {sample.stderr.strip()[-300:]}")
    return SandboxRun(got, sample)
