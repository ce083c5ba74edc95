"""One cross-process lock around commit-and-apply (issue 16, class 7; DESIGN §10).

The apiserver serialises its own writers, but `apiclient --direct`, early-boot-config,
`bootconfig parse --commit` and `kdump plan` commit and apply in their own processes:
two of them could commit `motd=a` and `motd=b` in one order and write `/etc/motd` in
the other, leaving the file and the live value disagreeing. Every commit and every
applier run takes `flock(LOCK_EX)` on `/run/kindling/apply.lock` (under the root
prefix), whoever runs it, so commit → apply is one step for the whole machine.

The lock is re-entrant within a thread (commit-and-apply calls commit, then apply);
flock locks belong to an open file, so the apiserver's threads, each opening the
file, exclude each other as processes do. The kernel drops the lock when its holder
dies: a killed client never wedges the next one. A plan takes no lock: it writes
nothing. Waiting is real time (a real lock), bounded by `WAIT`.
"""

from __future__ import annotations

import _thread  # threading's own thread-local: `threading` itself costs ~0.5 ms on every boot
import contextlib
import os
import time
from collections.abc import Iterator

from kindling.errors import HostError
from kindling.host import Host, make_dirs

__all__ = ["LOCK_PATH", "WAIT", "apply_lock"]

LOCK_PATH = "/run/kindling/apply.lock"
WAIT = 120.0
_HELD = _thread._local()


@contextlib.contextmanager
def apply_lock(host: Host) -> Iterator[None]:
    """Hold the machine-wide commit-and-apply lock for the `with` block."""
    if host.recording:
        yield
        return
    file = host.path(LOCK_PATH)
    held: dict[str, int] = _HELD.__dict__.setdefault("held", {})
    key = str(file)
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    fd = _acquire(file)
    held[key] = 1
    try:
        yield
    finally:
        held.pop(key, None)
        os.close(fd)  # closing the file releases the flock


def _acquire(file: os.PathLike[str]) -> int:
    import fcntl
    from pathlib import Path

    path = Path(file)
    try:
        make_dirs(path.parent, 0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise HostError(f"{LOCK_PATH}: cannot open the apply lock: {exc.strerror or exc}") from exc
    deadline = time.monotonic() + WAIT
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise HostError(f"{LOCK_PATH}: another process held the apply lock for {WAIT:g}s") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        except OSError as exc:
            os.close(fd)
            raise HostError(f"{LOCK_PATH}: cannot lock: {exc.strerror or exc}") from exc
