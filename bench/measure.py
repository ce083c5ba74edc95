"""Run a command once and measure it: wall time, CPU time, peak RSS, exit code.

`subprocess.Popen` + `os.wait4`: the rusage of the reaped child covers the child and
every descendant it reaped (Linux folds `cmaxrss` into the child's own), so a command
started through `unshare … chroot …` reports the peak of the process that did the work.
Nothing is measured through a shell unless the caller puts one in argv.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["CommandFailed", "Sample", "clean_env", "run_once"]


@dataclass(frozen=True)
class Sample:
    wall_ms: float
    cpu_ms: float
    maxrss_mb: float
    rc: int
    stdout: str
    stderr: str


class CommandFailed(RuntimeError):
    """A measured command exited non-zero where success was required."""

    def __init__(self, argv: Sequence[str], sample: Sample) -> None:
        tail = (sample.stderr or sample.stdout).strip().splitlines()[-3:]
        super().__init__(f"{' '.join(argv[:6])}… exited {sample.rc}: {' | '.join(tail)}")
        self.sample = sample


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for measured commands: PATH, HOME, a UTF-8 locale and nothing
    else (no PYTHON* variables from the caller's shell, no pyenv shims first on PATH)."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    if extra:
        env.update(extra)
    return env


def run_once(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = 120,
    check: bool = False,
    capture: bool = True,
) -> Sample:
    """Start argv, wait for it with wait4, and return what it cost. On timeout the
    whole process group is killed and rc is -9. `capture=False` sends output to
    /dev/null: needed for commands that leave a daemon holding the pipes (dhclient)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE if capture else subprocess.DEVNULL,
        env=dict(env) if env is not None else clean_env(),
        cwd=cwd,
        start_new_session=True,
    )
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [
        threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else b""), daemon=True),
        threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else b""), daemon=True),
    ]
    for r in readers:
        r.start()
    timer = threading.Timer(timeout, _kill_group, (proc.pid,))
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join(5)
    sample = Sample(
        wall_ms=wall,
        cpu_ms=(usage.ru_utime + usage.ru_stime) * 1000,
        maxrss_mb=usage.ru_maxrss / 1024,
        rc=proc.returncode,
        stdout=b"".join(out).decode("utf-8", "replace"),
        stderr=b"".join(err).decode("utf-8", "replace"),
    )
    if check and sample.rc != 0:
        raise CommandFailed(argv, sample)
    return sample


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
