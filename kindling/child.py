"""A program the Host runs (DESIGN §2): started with `os.posix_spawn`, fed and drained
with `select.poll`, reaped through a pidfd.

Why not `subprocess`: importing it costs ~5 ms (locale, signal, threading, selectors)
on every boot that runs a program, and a first boot runs a few. What `Popen` gave the
Host is kept here, each for the reason Popen has it:
- the child leads a session of its own (`start_new_session`), so a timeout kills its
  whole process group, its own children too;
- it gets exactly the environment it is given, and the program is looked up on *that*
  environment's PATH, skipping entries that are missing, as Popen's exec loop does;
- it gets only fds 0/1/2 (`close_fds`): our pipes are O_CLOEXEC, and an inherited fd
  that is not (a socket passed in by the service manager) is closed in the child;
- SIGPIPE and SIGXFSZ are back at their defaults (`restore_signals`; Python ignores
  both), so `yes | head` style pipelines in a program end as they do from a shell;
- a program that cannot start (missing, not executable) raises `OSError` here, in the
  parent: glibc's posix_spawn reports the exec's errno instead of a child exiting 127.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the builtin under `signal`: its numbers without its enums
import contextlib
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["STDERR_KEEP", "Child", "collect", "kill_group", "spawn"]

STDERR_KEEP = 256 * 1024
_CHUNK = 65536
_RESTORED: tuple[int, ...] = (_signal.SIGPIPE, _signal.SIGXFSZ)
_SIGKILL: int = _signal.SIGKILL


class Child:
    """A started program: its pid, a pidfd to wait on (-1 where the kernel has none),
    our ends of its pipes (`stdin` is None when it reads /dev/null) and, once reaped,
    its exit status as Popen reports it (negative: killed by that signal)."""

    __slots__ = ("pid", "pidfd", "returncode", "stderr", "stdin", "stdout")

    def __init__(self, pid: int, pidfd: int, stdin: int | None, stdout: int, stderr: int) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None

    def close(self) -> None:
        """Close every fd of ours that is still open (idempotent)."""
        for name in ("stdin", "stdout", "stderr"):
            fd = getattr(self, name)
            if fd is not None and fd >= 0:
                setattr(self, name, None if name == "stdin" else -1)
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self.pidfd >= 0:
            fd, self.pidfd = self.pidfd, -1
            with contextlib.suppress(OSError):
                os.close(fd)


def spawn(args: list[str], env: Mapping[str, str], *, stdin_pipe: bool) -> Child:
    """Start `args` with `env` as its whole environment; stdin is a pipe when
    `stdin_pipe`, else /dev/null; stdout and stderr are pipes. Raises OSError when the
    program cannot start, with nothing left open or running."""
    ours: list[int] = []  # every fd we opened: closed if the program does not start
    try:
        actions: list[tuple[int | str, ...]] = []
        stdin = None
        if stdin_pipe:
            r, stdin = _pipe(ours)
            actions.append((os.POSIX_SPAWN_DUP2, r, 0))
        else:
            actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDWR, 0))
        stdout, w1 = _pipe(ours)
        stderr, w2 = _pipe(ours)
        actions += [(os.POSIX_SPAWN_DUP2, w1, 1), (os.POSIX_SPAWN_DUP2, w2, 2)]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited()]
        pid = _spawn_on_path(args, env, actions)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    child = Child(pid, -1, stdin, stdout, stderr)
    try:
        for fd in ours:  # the child's ends (and any low duplicate): EOF needs them closed here
            if fd not in (stdin, stdout, stderr):
                os.close(fd)
        try:
            child.pidfd = os.pidfd_open(pid)  # not reaped yet, so the pid is still this child
        except OSError:  # Linux < 5.3, or a seccomp filter: `_reap` polls waitpid instead
            child.pidfd = -1
    except BaseException:
        kill_group(child)
        raise
    return child


def _pipe(ours: list[int]) -> tuple[int, int]:
    """A close-on-exec pipe with both ends above 2, so the child's dup2 onto 0/1/2
    cannot clobber one pipe with another when we run with 0/1/2 closed."""
    ends = []
    for fd in os.pipe2(os.O_CLOEXEC):
        ours.append(fd)
        if fd <= 2:
            import fcntl

            ours.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3))
        ends.append(ours[-1])
    return ends[0], ends[1]


def _inherited() -> list[int]:
    """Our fds above 2 that an exec would pass on (Python makes its own non-inheritable;
    these came from whoever started us), so the child can close them as Popen did."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return []
    found = []
    for name in names:
        fd = int(name)
        if fd > 2:
            try:
                if os.get_inheritable(fd):
                    found.append(fd)
            except OSError:  # the directory's own fd, closed by now
                continue
    return found


def _spawn_on_path(args: list[str], env: Mapping[str, str], actions: list[tuple[int | str, ...]]) -> int:
    """posix_spawn `args[0]` as Popen would exec it: as given when it holds a slash,
    else the first PATH entry (of `env`) that exists; one that exists but cannot run
    is remembered and the search goes on, as execvpe's does."""
    program = args[0]
    candidates = [program] if "/" in program else [os.path.join(d, program) for d in os.get_exec_path(env)]
    failure: OSError | None = None
    for path in candidates:
        if len(candidates) > 1 and not os.path.exists(path):
            continue
        try:
            return os.posix_spawn(path, args, env, file_actions=actions, setsid=True, setsigdef=_RESTORED)
        except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
            if failure is None or isinstance(failure, (FileNotFoundError, NotADirectoryError)):
                failure = exc
    raise failure or FileNotFoundError(2, os.strerror(2), program)


def collect(
    child: Child, input: bytes | None, timeout: float | None, limit: int | None, begun: float
) -> tuple[bytes, bytes, str | None]:
    """Stream a child's stdout/stderr (and feed stdin) until it exits, under a wall-clock
    deadline (`begun + timeout`) and a stdout cap; returns (stdout, stderr tail, why it
    was stopped or None). Reaps the child unless it was stopped."""
    import select

    deadline = None if timeout is None else begun + timeout
    out, err = bytearray(), bytearray()
    pending = memoryview(input or b"")
    poller = select.poll()
    bufs = {child.stdout: out, child.stderr: err}
    for fd in bufs:
        poller.register(fd, select.POLLIN)
    if child.stdin is not None:
        os.set_blocking(child.stdin, False)
        if pending:
            poller.register(child.stdin, select.POLLOUT)
        else:
            os.close(child.stdin)
            child.stdin = None
    open_fds = len(bufs) + (child.stdin is not None)
    while open_fds:
        left = _left(deadline)
        if left is not None and left <= 0:
            return bytes(out), bytes(err), f"timed out after {timeout:g}s"
        for fd, _events in poller.poll(None if left is None else _ms(left)):
            if fd == child.stdin:
                try:
                    pending = pending[os.write(fd, pending[:_CHUNK]) :]
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    pending = pending[:0]
                if not pending:
                    poller.unregister(fd)
                    os.close(fd)
                    child.stdin = None
                    open_fds -= 1
                continue
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                poller.unregister(fd)
                open_fds -= 1
                continue
            buf = bufs[fd]
            buf += chunk
            if buf is out and limit is not None and len(out) > limit:
                return bytes(out[: limit + 1]), bytes(err), f"stdout larger than {limit} bytes"
            if buf is err and len(err) > STDERR_KEEP:
                del err[: len(err) - STDERR_KEEP]
    if not _reap(child, deadline):
        return bytes(out), bytes(err), f"timed out after {timeout:g}s"
    return bytes(out), bytes(err), None


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def _ms(seconds: float) -> int:
    """poll's timeout, rounded up so a wait never ends just short of the deadline."""
    return max(int(seconds * 1000) + 1, 0)


def _reap(child: Child, deadline: float | None) -> bool:
    """Wait for the child's exit until `deadline`; True once reaped (its fds closed)."""
    if child.pidfd >= 0:
        import select

        poller = select.poll()
        poller.register(child.pidfd, select.POLLIN)
        while not poller.poll(None if deadline is None else _ms(max(deadline - time.monotonic(), 0.0))):
            if deadline is not None and time.monotonic() >= deadline:
                return False
        pid, status = os.waitpid(child.pid, 0)
    else:  # no pidfd: poll waitpid, backing off as Popen.wait(timeout) does
        delay = 0.0005
        while True:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                break
            left = _left(deadline)
            if left is not None and left <= 0:
                return False
            time.sleep(delay if left is None else min(delay, left))
            delay = min(delay * 2, 0.05)
    child.returncode = os.waitstatus_to_exitcode(status)
    child.close()
    return True


def kill_group(child: Child) -> None:
    """SIGKILL the child's whole session (it leads its own group), then reap it and
    close our fds: never a zombie, never an unwaited child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, _SIGKILL)
    if child.returncode is None:
        with contextlib.suppress(OSError):
            os.kill(child.pid, _SIGKILL)
        with contextlib.suppress(ChildProcessError):
            _pid, status = os.waitpid(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
    child.close()
