"""Run a command once and measure it: wall time, CPU time, peak RSS, exit code.

Wall and CPU time come from `subprocess.Popen` + `os.wait4` in this process. Peak RSS
does not: Linux records the RSS high-water mark of the *pre-exec* image too, and a child
forked from this Python process starts as a copy of it (~16 MB), so every command would
seem to need at least that. GNU time (`/usr/bin/time -f %M`, Debian package `time`)
forks from a ~1 MB process instead; its figure is the command's own peak (and that of
the descendants it waited for). It costs about a millisecond of wall time, paid
equally by both sides of every pair; `rss=False` leaves it out where a start-up floor
is compared (DESIGN §8's `kindling --help` vs `-c pass`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GNU_TIME", "CommandFailed", "Sample", "clean_env", "peak_rss_kb", "run_once"]

GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Sample:
    wall_ms: float
    cpu_ms: float
    maxrss_mb: float  # NaN when not measured (rss=False)
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
    rss: bool = True,
) -> Sample:
    """Start argv, wait for it with wait4, and return what it cost. On timeout the
    whole process group is killed and rc is -9. `capture=False` sends output to
    /dev/null: needed for commands that leave a daemon holding the pipes (dhclient)."""
    rss_file = None
    if rss:
        if not os.access(GNU_TIME, os.X_OK):
            raise RuntimeError(f"{GNU_TIME} not found: install the Debian package `time` (ci/apt-packages.txt)")
        fd, rss_file = tempfile.mkstemp(prefix="kindling-bench-rss-")
        os.close(fd)
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file, *argv]
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
    maxrss = float("nan")
    if rss_file is not None:
        try:
            maxrss = peak_rss_kb(Path(rss_file).read_text()) / 1024
        finally:
            os.unlink(rss_file)
    sample = Sample(
        wall_ms=wall,
        cpu_ms=(usage.ru_utime + usage.ru_stime) * 1000,
        maxrss_mb=maxrss,
        rc=proc.returncode,
        stdout=b"".join(out).decode("utf-8", "replace"),
        stderr=b"".join(err).decode("utf-8", "replace"),
    )
    if check and sample.rc != 0:
        raise CommandFailed(argv, sample)
    return sample


def peak_rss_kb(time_output: str) -> float:
    """The `%M` figure GNU time wrote (its last line; a line before it may say
    "Command exited with non-zero status N"). NaN if the command never ran."""
    lines = time_output.strip().splitlines()
    try:
        return float(int(lines[-1]))
    except (IndexError, ValueError):
        return float("nan")


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
