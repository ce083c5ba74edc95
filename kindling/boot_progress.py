"""Whether a boot is running, and how the last one ended (DESIGN §3, §4 `status`).

The timeline (`/run/kindling/timeline.json`) is written when a boot ends, so on its own
it cannot tell "running" from "never ran". The boot runner therefore also writes a
small state file, atomically through the Host, when the first stage that runs starts
(or a skipped stage's replay first writes), when each later stage that runs starts,
and when it ends:

    /run/kindling/boot-progress.json
    {"state": "running", "pid": 812, "platform": "aws", "started": 1796318743.8,
     "stage": "early-boot-config", "stage_started": 1796318744.1}
    {"state": "done" | "failed", ..., "finished": 1796318744.4, "failed": ["cfsignal"]}

A boot killed mid-way (OOM, SIGKILL) never writes its end, so "running" in the file
is not proof: for as long as it runs, the runner holds `flock(LOCK_EX)` on
`/run/kindling/boot.lock` (the kernel drops it when the process dies, however it
dies). A reader that finds "running" in the file but can take the lock knows the boot
was interrupted; a reader that cannot take the lock while the file holds no
"running" state (an earlier run's end, or none) sees a boot that has not reached its
first write. The same lock keeps a second `kindling boot` on the same root from
interleaving its stages and state with the first: it is refused, naming the pid.
Both files live under /run (tmpfs): a reboot starts with neither, as with the timeline.
A plan records the state writes like any other and takes no lock (it acts on nothing).
"""

from __future__ import annotations

import os

from kindling import jsonio
from kindling.errors import HostError, KindlingError
from kindling.host import Host, make_dirs

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["LOCK_PATH", "PROGRESS_PATH", "boot_in_progress", "boot_lock", "read_progress", "write_progress"]

PROGRESS_PATH = "/run/kindling/boot-progress.json"
LOCK_PATH = "/run/kindling/boot.lock"
_LIMIT = 64 * 1024
_READER_GRACE = 0.5  # seconds a boot waits out a reader's momentary shared lock


def write_progress(host: Host, progress: dict[str, Any]) -> None:
    """Replace the state file (atomic: a reader sees the old state or the new one)."""
    host.makedirs("/run/kindling", mode=0o755)
    host.write_file(PROGRESS_PATH, jsonio.dumps(progress, sort_keys=True) + "\n", mode=0o644)


def read_progress(host: Host) -> dict[str, Any] | None:
    """The recorded state, or None when no boot has written one (or it is unreadable)."""
    try:
        raw = host.read_bytes(PROGRESS_PATH, limit=_LIMIT)
    except HostError:
        return None
    try:
        data = jsonio.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("state"), str) else None


def boot_lock(host: Host) -> _BootLock:
    """Hold the boot lock for the `with` block; another holder means another boot runs."""
    return _BootLock(host)


class _BootLock:
    """`boot_lock`'s block, as a class: contextlib is not imported on a later boot (~0.3 ms)."""

    __slots__ = ("fd", "host")

    def __init__(self, host: Host) -> None:
        self.host = host
        self.fd: int | None = None

    def __enter__(self) -> None:
        host = self.host
        if host.recording:
            return
        file = host.real(LOCK_PATH)
        try:
            make_dirs(os.path.dirname(file), 0o755)
            fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:  # a read-only /run must not cost the boot: run unlocked, say so
            from kindling import log

            log.get("boot").warning(f"{LOCK_PATH}: cannot open the boot lock ({exc.strerror or exc}): "
                                    "running without it")
            return
        try:
            _take(fd)
        except BlockingIOError:
            os.close(fd)
            state = read_progress(host) or {}
            # a pid from a "done" state is an earlier run's: the holder has not written yet
            running = state.get("state") == "running"
            pid = f" (pid {state['pid']})" if running and isinstance(state.get("pid"), int) else ""
            raise KindlingError(f"another kindling boot is running on this root{pid}; "
                                "'kindling status --wait' waits for it") from None
        except OSError as exc:
            os.close(fd)
            raise HostError(f"{LOCK_PATH}: cannot lock: {exc.strerror or exc}") from exc
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing the file releases the lock


def _take(fd: int) -> None:
    """LOCK_EX, retried for a moment: a `status` reader holds LOCK_SH for microseconds,
    and a poll that lands as a boot starts must not make that boot refuse to run.
    Real time (a real lock), as kindling/apply_lock.py."""
    import fcntl
    import time

    deadline = time.monotonic() + _READER_GRACE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def boot_in_progress(host: Host) -> bool:
    """True while some process holds the boot lock (a read: takes it only for a moment)."""
    import fcntl

    try:
        fd = os.open(host.real(LOCK_PATH), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False  # no lock file: no boot has run since /run was mounted
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False
