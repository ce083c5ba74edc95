"""The Host seam: every side effect of Kindling goes through one of these (DESIGN §2).

A Host owns the root prefix under which every path of DESIGN §3 lives (including
/proc, /sys and /dev when the root is not `/`), the command runner, the clock, the
environment and the network namespace. Services receive a Host and never build one;
the CLI builds it from `--root` / `KINDLING_ROOT` and `--plan`.

Two implementations, one protocol (as httpx's transports):
- `Host` acts for real: files are written atomically (temp file, fsync, rename) and
  programs really run. Inside `deferred_sync()` (a `kindling boot`) the fsyncs of
  persistent files wait for the next `barrier()` (docs/CONTRACT-NOTES.md, "one barrier").
- `RecordingHost` (`--plan`) reads for real but records every mutation instead of
  doing it; read-only commands (`read_only=True`) still run so a plan can look at
  the machine. Logic never asks "am I planning?": it just calls the Host.
"""

from __future__ import annotations

import errno
import os
import stat
import time

from kindling.errors import CommandError, HostError, PlanBoundary
from kindling.record import field, record

TYPE_CHECKING = False  # typing costs ~8 ms to import; the runner (kindling.child) loads only to run one
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from contextlib import AbstractContextManager
    from pathlib import Path
    from typing import Any, Protocol

    from kindling.appliers import Applied, Pending
    from kindling.child import Child
else:
    Protocol = object

__all__ = [
    "Clock",
    "CommandResult",
    "FakeClock",
    "Host",
    "PlanClock",
    "RealClock",
    "RecordingHost",
    "Started",
    "chase",
    "host_from_env",
    "make_dirs",
]

# pathlib (with the urllib.parse, ipaddress, fnmatch and re it imports) costs ~3 ms a
# start; a later boot needs none of it. The Host works on strings (`real`, `real_entry`);
# `path` and `entry` hand services the Path they expect, importing pathlib on first use.
_PATH: list[type[Path]] = []


def _as_path(text: str) -> Path:
    if not _PATH:
        from pathlib import Path

        _PATH.append(Path)
    return _PATH[0](text)


class Clock(Protocol):
    """Time as the retry loops see it; tests inject `FakeClock` so backoff is free."""

    def monotonic(self) -> float: ...
    def time(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The wall and monotonic clocks of this machine."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def make_dirs(target: str | os.PathLike[str], mode: int = 0o755) -> None:
    """`mkdir -p` whose modes do not depend on the process umask.

    `Path.mkdir(parents=True)` gives missing parents 0777 & ~umask: under systemd's
    usual 022 that is 0755, but a unit or shell with umask 0 would leave /etc, /run/kindling
    … world-writable (found by tests/reliability/test_modes.py). Each directory created
    here gets `mode` (the leaf) or 0755 (parents) exactly; existing ones are left alone.
    """
    missing: list[str] = []
    probe = os.fspath(target).rstrip("/") or "/"
    while not os.path.isdir(probe):
        missing.append(probe)
        parent = os.path.dirname(probe) or "."
        if parent == probe:
            break
        probe = parent
    for i, directory in enumerate(reversed(missing)):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue
        os.chmod(directory, mode if i == len(missing) - 1 else 0o755)

def read_all(real: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """A file's bytes (at most `limit` + 1 of them), in plain reads: `open()` adds an
    fstat, an isatty ioctl and two seeks to each read, ~3 µs a syscall here (a later
    boot reads ~90 files). Read to the end whatever the size says (/proc and /sys files
    say 0 or 4096). A directory fails as `open()` fails it (EISDIR, on the read)."""
    fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks: list[bytes] = []
        left = -1 if limit is None else limit + 1
        while left:
            chunk = os.read(fd, 65536 if left < 0 else min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            if left > 0:
                left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _start_writeback(fd: int) -> None:
    """Ask Linux to start writing `fd`'s dirty pages back, without waiting: the stdlib's
    one way is POSIX_FADV_DONTNEED (it drops only pages already clean, and pages under
    writeback are not). Only a hint: durability is still the fsync's."""
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass


_SYNC_BATCH = 256


def _sync_files(targets: list[str], directories: dict[str, None]) -> None:
    """fsync each of `targets` (noting its directory), each file's writeback started
    first: their blocks are then allocated together, and the fsyncs find most of that in
    one journal commit instead of one commit per file (docs/CONTRACT-NOTES.md, "One
    barrier"). One removed or replaced since is skipped: its directory says so."""
    opened: list[tuple[str, int]] = []
    try:
        for target in targets:
            directories[os.path.dirname(target)] = None
            try:
                fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ELOOP):
                    continue
                raise HostError(f"{target}: cannot make it durable: {exc.strerror or exc}") from exc
            opened.append((target, fd))
            _start_writeback(fd)
        for target, fd in opened:
            try:
                os.fsync(fd)
            except OSError as exc:
                raise HostError(f"{target}: cannot make it durable: {exc.strerror or exc}") from exc
    finally:
        for _target, fd in opened:
            os.close(fd)


def _sync_directory(directory: str) -> None:
    """fsync a directory: what makes a rename (or a new entry) in it durable."""
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _create_temp(target: str, mode: int) -> tuple[int, str]:
    """A new file beside `target` with an unguessable name, as `mkstemp` makes it:
    `O_EXCL|O_NOFOLLOW`, so a planted file or symlink of that name is never opened
    (without importing tempfile, which costs the boot path several milliseconds)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    head, name = os.path.split(target)
    for _ in range(8):
        tmp = os.path.join(head, f".{name}.{os.urandom(6).hex()}.kindling-tmp")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{target}: no free temporary name beside it")


_SYNC_NOW = ("/boot/", "/efi/")  # read by firmware and boot loaders: never deferred
_MAX_HOPS = 40  # the kernel's limit on symlinks followed in one lookup (ELOOP)


def _normal(text: str) -> str:
    """`/` + `text` spelt as Path spells it (no `//`, no `.` component, no trailing `/`)."""
    s = "/" + text.lstrip("/")
    if "//" not in s and "/./" not in s and not s.endswith(("/", "/.")):
        return s
    return "/" + "/".join(c for c in s.split("/") if c and c != ".")


def chase(root: str | os.PathLike[str], p: str) -> Path:
    """`root`/`p` with every symlink resolved relative to `root`, never leaving it
    (`_chase`, as a Path)."""
    return _as_path(_chase(os.fspath(root), p))


def _chase(root: str, p: str) -> str:
    """`root`/`p` with every symlink resolved relative to `root`, never leaving it.

    Components are looked at with `lstat` one by one; once one does not exist the
    rest is taken as written (`..` still stops at the root). A loop of links is an
    error, as ELOOP is for the kernel. Strings, not Paths, inside the loop: this runs
    for every path a boot touches (bench/bench_fail_closed.py).
    """
    base = root.rstrip("/")
    todo = [c for c in reversed(p.split("/")) if c and c != "."]
    done: list[str] = []
    current = base
    hops = 0
    missing = False
    while todo:
        part = todo.pop()
        if part == "..":
            if done:
                done.pop()
                current = base + "".join("/" + d for d in done)
            continue
        here = current + "/" + part
        if not missing:
            try:
                st = os.lstat(here)
            except OSError:
                missing = True
            else:
                if stat.S_ISLNK(st.st_mode):
                    hops += 1
                    if hops > _MAX_HOPS:
                        raise HostError(f"{p}: too many levels of symbolic links")
                    target = os.readlink(here)
                    if target.startswith("/"):
                        done = []
                        current = base
                    todo.extend(c for c in reversed(target.split("/")) if c and c != ".")
                    continue
        done.append(part)
        current = here
    return current or "/"


@record
class FakeClock:
    """A clock whose `sleep` advances time instantly; `sleeps` records each wait."""

    now: float = 1_700_000_000.0
    mono: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.mono += max(seconds, 0.0)
        self.now += max(seconds, 0.0)


@record(frozen=True)
class CommandResult:
    """What a program did: its argv, exit status and captured output."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


class _DeferredSync:
    """`Host.deferred_sync()`'s block, as a class: contextlib is not imported on a later
    boot (~0.3 ms) for the two scopes the Host opens."""

    __slots__ = ("host", "outer")

    def __init__(self, host: Host) -> None:
        self.host = host
        self.outer = False

    def __enter__(self) -> None:
        self.outer = self.host.unsynced is None  # nested: the outer scope's barriers hold
        if self.outer:
            self.host.unsynced = {}

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if not self.outer:
            return
        try:
            if kind is None:
                self.host.barrier()
            else:  # the block's own failure stays the error reported
                try:
                    self.host.barrier()
                except HostError:
                    pass
        finally:
            self.host.unsynced = None


class _SyncedNow:
    """`Host.synced_now()`'s block: no deferral inside, the outer one restored after."""

    __slots__ = ("host", "saved")

    def __init__(self, host: Host) -> None:
        self.host = host
        self.saved: dict[str, None] | None = None

    def __enter__(self) -> None:
        self.saved, self.host.unsynced = self.host.unsynced, None

    def __exit__(self, *exc: object) -> None:
        self.host.unsynced = self.saved


class _NoScope:
    """A block that changes nothing (a plan's `deferred_sync()`)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class Host:
    """The real host, seen through a root prefix."""

    recording = False

    def __init__(
        self,
        root: str | os.PathLike[str] = "/",
        *,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
        netns: str | None = None,
    ) -> None:
        self.real_root = os.path.realpath(os.fspath(root))  # `root`, as a string
        self._root_path: Path | None = None
        self.clock: Clock = clock or RealClock()
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.netns = netns
        self.actions: list[str] = []
        # Set by the boot runner while a stage runs (kindling/boot_fingerprint.py): the
        # paths the stage resolved, and its per-boot effects (/run files, live kernel values).
        self.seen: set[str] | None = None
        self.replay: list[tuple[str, str, bytes, int]] | None = None
        # Inside `deferred_sync()`: files renamed into place whose fsyncs wait for `barrier()`.
        self.unsynced: dict[str, None] | None = None
        # Set by the boot runner: appliers' programs left running past their commit
        # (kindling/appliers.py), collected by the applier's next run or the boot's end.
        self.in_flight: dict[str, Pending] | None = None
        # Set by the boot runner: each applier's last successful run in this boot (the
        # settings it was given, what it resolved and replays), so apply-settings runs
        # only those whose settings changed since (kindling/appliers.py `run_unapplied`).
        self.applied: dict[str, Applied] | None = None
        # Set by the boot runner under a root prefix: each directory's real location,
        # resolved once while nothing acts (`path`); every action (`_record`) empties it.
        self.resolved: dict[str, str] | None = None

    # -- paths ---------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The root prefix, resolved (`/` when none)."""
        if self._root_path is None:
            self._root_path = _as_path(self.real_root)
        return self._root_path

    @property
    def prefixed(self) -> bool:
        """True when a root prefix is in force (tests, image builders, the demo)."""
        return self.real_root != "/"

    def path(self, p: str | os.PathLike[str]) -> Path:
        """The real location of the absolute path `p` under the root prefix (`real`)."""
        return _as_path(self.real(p))

    def real(self, p: str | os.PathLike[str]) -> str:
        """The real location of the absolute path `p` under the root prefix, as a string
        (what the Host's own reads and writes use; `path` wraps it in a Path).

        Under a root prefix every symlink on the way is resolved *inside* the root, as
        systemd's `chase()` does for `--root`: an absolute target starts again at the
        root and `..` stops there, so `var/lib/kindling -> /elsewhere` inside the tree
        leads to `<root>/elsewhere`, never out of it. The real root `/` is left to the
        kernel.
        """
        text = os.fspath(p)
        if self.seen is not None:
            self.seen.add(text)
        if self.real_root == "/":
            return _normal(text)
        if self.resolved is None or self.in_flight:  # a program running on acts meanwhile
            return _chase(self.real_root, text)
        # `chase` is an lstat per component; a boot resolves ~400 paths in a few dozen
        # directories. An existing directory comes from `resolved`; the last component is
        # looked at as `chase` does: a symlink there (or `.`, `..`) goes to `chase` whole.
        head, _, name = text.rstrip("/").rpartition("/")
        if not name or name in (".", ".."):
            return _chase(self.real_root, text)
        parent = self.resolved.get(head)
        if parent is None:
            parent = _chase(self.real_root, head or "/").rstrip("/")
            if not os.path.isdir(parent):  # missing: a link made there later must count
                return _chase(self.real_root, text)
            self.resolved[head] = parent
            base = self.real_root.rstrip("/")
            if parent == base + head:  # no link on the way: each directory above is itself
                up = head.rpartition("/")[0]
                while up and up not in self.resolved:
                    self.resolved[up] = base + up
                    up = up.rpartition("/")[0]
        real = parent + "/" + name
        try:
            if stat.S_ISLNK(os.lstat(real).st_mode):
                return _chase(self.real_root, text)
        except OSError:
            pass  # missing: `chase` takes the rest as written
        return real

    def entry(self, p: str | os.PathLike[str]) -> Path:
        """Like `path`, but a symlink as the last component is not followed: what a
        rename, an unlink or a new link acts on (the entry itself, as on `/`)."""
        return _as_path(self.real_entry(p))

    def real_entry(self, p: str | os.PathLike[str]) -> str:
        """`entry` as a string."""
        text = os.fspath(p).rstrip("/")
        if self.seen is not None:
            self.seen.add(text)
        head, _, name = text.rpartition("/")
        if not name or name in (".", ".."):
            return self.real(p)
        return self.real(head or "/").rstrip("/") + "/" + name

    def proc(self, rel: str) -> Path:
        return self.path("/proc/" + rel.lstrip("/"))

    def sys(self, rel: str) -> Path:
        return self.path("/sys/" + rel.lstrip("/"))

    def dev(self, rel: str) -> Path:
        return self.path("/dev/" + rel.lstrip("/"))

    # -- reading (identical in both implementations) --------------------------
    def exists(self, p: str) -> bool:
        return os.path.exists(self.real(p))

    def read_bytes(self, p: str, *, limit: int | None = None) -> bytes:
        """Read a file; with `limit`, refuse files larger than that many bytes."""
        try:
            data = read_all(self.real(p), limit)
        except OSError as exc:
            raise HostError(f"{p}: cannot read: {exc.strerror or exc}") from exc
        if limit is not None and len(data) > limit:
            raise HostError(f"{p}: larger than {limit} bytes")
        return data

    def read_text(self, p: str, *, limit: int | None = None) -> str:
        try:
            return self.read_bytes(p, limit=limit).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HostError(f"{p}: not UTF-8 text") from exc

    def read_optional(self, p: str) -> str | None:
        """The text of `p`, or None when it does not exist."""
        target = self.real(p)
        try:
            text = read_all(target).decode("utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise HostError(f"{p}: cannot read: [Errno {exc.errno}] {exc.strerror}: {target!r}") from exc
        except UnicodeDecodeError as exc:
            raise HostError(f"{p}: cannot read: {exc}") from exc
        # as text mode reads it (universal newlines)
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text

    def listdir(self, p: str) -> list[str]:
        try:
            found = sorted(os.listdir(self.real(p)))
        except FileNotFoundError:
            found = []
        if self.seen is not None:  # the names are an input, not just "is a directory"
            self.seen.add(p.rstrip("/") + "/")
        return found

    # -- mutations --------------------------------------------------------------
    def _record(self, action: str, *, moves: bool = True) -> None:
        """`moves=False`: the action makes no link and moves or removes no directory (a
        write into a file, a file replacing a file, a chown, a new directory where none
        was: `path` keeps no missing one), so the directories `resolved` keeps still hold."""
        self.actions.append(action)
        if moves and self.resolved:
            self.resolved.clear()

    def makedirs(self, p: str, mode: int = 0o755) -> None:
        target = self.real(p)
        if os.path.isdir(target):
            return
        self._record(f"mkdir {p}", moves=False)
        make_dirs(target, mode)

    def write_file(self, p: str, data: str | bytes, *, mode: int = 0o644) -> bool:
        """Atomically replace `p` with `data`; returns False when it already held it.

        Temp file in the same directory, fsync, rename, fsync of the directory: a
        crash leaves the old or the new file, never a torn one. Under /run (a tmpfs)
        there are no fsyncs; inside `deferred_sync()` they wait for `barrier()`.
        """
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if self.replay is not None and p.startswith("/run/"):
            self.replay.append(("file", p, raw, mode))
        target = self.real_entry(p)
        link = False
        try:  # one lstat says most rewrites differ (the size) before any read
            st = os.lstat(target)
            link = stat.S_ISLNK(st.st_mode)
            if (not link and (st.st_mode & 0o7777) == mode
                    and (st.st_size == len(raw) or not stat.S_ISREG(st.st_mode)) and read_all(target) == raw):
                return False
        except OSError:
            pass
        # a file put where a file (or nothing) was moves no directory `resolved` keeps; where
        # a link was, it may (a link to a directory): the directories are resolved again
        self._record(f"write {p} ({len(raw)} bytes, mode {mode:04o})", moves=link)
        durable = not p.startswith("/run/")
        if durable and self.unsynced is not None and not p.startswith(_SYNC_NOW):
            self._write_atomic(target, raw, mode, durable=False)
            self.unsynced[target] = None
        else:
            self._write_atomic(target, raw, mode, durable=durable)
        return True

    def deferred_sync(self) -> AbstractContextManager[None]:
        """Within: persistent files are renamed into place without their two fsyncs,
        which `barrier()` does for all of them at once (each file, then each distinct
        directory once): one journal commit instead of one per file. The caller puts a
        barrier before anything that lets a later boot skip work (a marker, the boot
        state); the block's end is a barrier too, however it ends (what was written before
        a failure is on disk as well; the failure stays the error reported). /boot is
        always synced at once: firmware reads it before any Kindling runs to repair it."""
        return _DeferredSync(self)

    def synced_now(self) -> AbstractContextManager[None]:
        """Within: writes are durable when they return, even inside `deferred_sync()` (a
        marker: one on disk must be whole, never the empty file an unsynced rename leaves)."""
        return _SyncedNow(self)

    def barrier(self) -> None:
        """Make every write deferred since the last barrier durable (nothing to do
        outside `deferred_sync()`: each write was durable when it returned)."""
        pending = self.unsynced
        if not pending:
            return
        directories: dict[str, None] = {}
        targets = list(pending)
        for first in range(0, len(targets), _SYNC_BATCH):  # a bounded number of descriptors open
            _sync_files(targets[first:first + _SYNC_BATCH], directories)
        for directory in directories:
            try:
                _sync_directory(directory)
            except OSError as exc:
                raise HostError(f"{directory}: cannot make it durable: {exc.strerror or exc}") from exc
        pending.clear()

    def _write_atomic(self, target: str, raw: bytes, mode: int, *, durable: bool = True) -> None:
        """`durable=False` for /run (a tmpfs, gone at the next boot): the rename alone is
        atomic; the two fsyncs cost ~0.5 ms each and protect nothing there."""
        tmp = None
        parent = os.path.dirname(target)
        try:
            make_dirs(parent)
            fd, tmp = _create_temp(target, mode)
            try:
                os.fchmod(fd, mode)
                view = memoryview(raw)
                while view:
                    view = view[os.write(fd, view) :]
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
            tmp = None
            if durable:
                _sync_directory(parent)
        except OSError as exc:
            # a full disk fails the write, not the open: leave no temp file behind
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            raise HostError(f"{target}: cannot write: {exc.strerror or exc}") from exc

    def read_tail(self, p: str, size: int) -> tuple[int, bytes]:
        """(file size, its last `size` bytes): a footer check without reading an 80 MB initrd."""
        target = self.real(p)
        try:
            with open(target, "rb") as f:
                total = f.seek(0, os.SEEK_END)
                f.seek(max(0, total - size))
                return total, f.read()
        except OSError as exc:
            raise HostError(f"{p}: cannot read: {exc.strerror or exc}") from exc

    def replace_tail(self, p: str, keep: int, tail: bytes) -> None:
        """Atomically replace `p` by its first `keep` bytes followed by `tail`.

        Streamed to a temp file beside it, fsync, rename (an initrd never sits in
        memory, and a crash leaves the old file or the new one). Mode is kept.
        """
        self._record(f"rewrite {p} (first {keep} bytes + {len(tail)} bytes)")
        self._replace_tail(self.real(p), keep, tail)

    def _replace_tail(self, target: str, keep: int, tail: bytes) -> None:
        head, name = os.path.split(target)
        tmp = os.path.join(head, f".{name}.kindling-tmp.{os.getpid()}")
        try:
            mode = os.stat(target).st_mode & 0o7777
            with open(target, "rb") as src, open(tmp, "wb") as dst:
                os.fchmod(dst.fileno(), mode)
                left = keep
                while left > 0:
                    chunk = src.read(min(left, 1 << 20))
                    if not chunk:
                        raise OSError(f"shorter than {keep} bytes")
                    dst.write(chunk)
                    left -= len(chunk)
                dst.write(tail)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise HostError(f"{target}: cannot rewrite: {exc.strerror or exc}") from exc

    def write_in_place(self, p: str, data: str | bytes) -> None:
        """Write into an existing file without rename: kernel files under /proc/sys
        (hostname, sysctls) cannot be replaced atomically, only written."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if self.replay is not None:
            self.replay.append(("live", p, raw, 0))
        self._record(f"write-in-place {p} ({len(raw)} bytes)", moves=False)
        self._write_in_place(self.real(p), raw)

    def _write_in_place(self, target: str, raw: bytes) -> None:
        try:
            fd = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
            try:
                os.write(fd, raw)
            finally:
                os.close(fd)
        except OSError as exc:
            raise HostError(f"{target}: cannot write: {exc.strerror or exc}") from exc

    def remove(self, p: str) -> bool:
        """Remove a file; returns False when there was nothing to remove."""
        target = self.real_entry(p)
        if not os.path.lexists(target):
            return False
        self._record(f"remove {p}")
        try:
            os.unlink(target)
        except OSError as exc:
            raise HostError(f"{p}: cannot remove: {exc.strerror or exc}") from exc
        return True

    def chown(self, p: str, uid: int, gid: int) -> bool:
        """Give `p` to uid:gid (never following a link); False when it already was."""
        target = self.real(p)
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            if not self.recording:  # a plan has not written the file it would give away
                raise HostError(f"{p}: cannot chown: no such file") from None
            self._record(f"chown {p} {uid}:{gid}")
            return True
        except OSError as exc:
            raise HostError(f"{p}: cannot chown: {exc.strerror or exc}") from exc
        if (st.st_uid, st.st_gid) == (uid, gid):
            return False
        self._record(f"chown {p} {uid}:{gid}", moves=False)
        self._chown(target, uid, gid)
        return True

    def _chown(self, target: str, uid: int, gid: int) -> None:
        try:
            os.chown(target, uid, gid, follow_symlinks=False)
        except OSError as exc:
            raise HostError(f"{target}: cannot chown: {exc.strerror or exc}") from exc

    def symlink(self, target: str, p: str) -> bool:
        if self.replay is not None and p.startswith("/run/"):
            self.replay.append(("symlink", p, target.encode(), 0))
        link = self.real_entry(p)
        if os.path.islink(link) and os.readlink(link) == target:
            return False
        self._record(f"symlink {p} -> {target}")
        head, name = os.path.split(link)
        for _ in range(8):
            tmp = os.path.join(head, f".{name}.{os.urandom(6).hex()}.kindling-tmp")
            try:
                make_dirs(head)
                os.symlink(target, tmp)  # fails on any existing entry: never follows one
            except FileExistsError:
                continue
            except OSError as exc:
                raise HostError(f"{p}: cannot create the link: {exc.strerror or exc}") from exc
            try:
                os.replace(tmp, link)
            except OSError as exc:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise HostError(f"{p}: cannot create the link: {exc.strerror or exc}") from exc
            return True
        raise HostError(f"{p}: cannot create a temporary link beside it")

    # -- reporting ---------------------------------------------------------------
    def did(self, verb: str, what: str) -> str:
        """`wrote /etc/motd` — or, from the recording host, `would write /etc/motd`:
        a report line of a service is never in the past tense under `--plan`."""
        return f"{_PAST.get(verb, verb + 'ed')} {what}"

    # -- the network and waits -------------------------------------------------
    def network(self, what: str) -> None:
        """Every network client calls this before it sends (`what`: "GET imds meta-data/…").

        The real host lets it go; the recording host stops the plan here, because no
        plan may send a request, not even a read (its answer is unknown to a plan).
        """
        return None

    def waiting(self, what: str, at_most: float | None) -> None:
        """Every wait announces itself: one info line (what, for how long at most).

        The recording host stops the plan instead: a plan never waits.
        """
        from kindling import log

        limit = "no time limit" if at_most is None else f"at most {at_most:g}s"
        log.get("wait").info(f"waiting for {what} ({limit})")

    # -- programs ----------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = 60.0,
        check: bool = True,
        read_only: bool = False,
        env: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> CommandResult:
        """Run a program; `read_only=True` promises it changes nothing (plans run it).

        The program runs in a session of its own; on timeout, or when its stdout passes
        `limit` bytes, its whole process group is killed (its own children too) and
        `CommandError` says why. Output is read as it comes, so the cap bounds memory;
        stderr keeps its last `kindling.child.STDERR_KEEP` bytes. A non-zero exit raises `CommandError`
        when `check`; a timeout or the cap always raises.
        """
        args = list(argv)
        if not read_only:
            self._record("run " + " ".join(args))
        return self._execute(args, input=input, timeout=timeout, check=check, env=env, limit=limit)

    def start(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = 60.0,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Started:
        """Start a program and return at once, so its run overlaps the caller's work;
        `Started.wait()` collects it as `run` would, its deadline counted from here.
        Until then its output waits in the pipes: one that fills a pipe (64 KiB) just
        pauses until collected. A program that cannot start raises here."""
        args = list(argv)
        self._record("run " + " ".join(args))
        proc = self._spawn(args, None, env)
        begun = time.monotonic()
        return Started(lambda: self._finish(args, proc, None, timeout, check, None, begun))

    def _spawn(self, args: list[str], input: bytes | None, env: Mapping[str, str] | None) -> Child:
        from kindling.child import spawn

        full_env = dict(self.env)
        if env:
            full_env.update(env)
        try:
            return spawn(args, full_env, stdin_pipe=input is not None)
        except OSError as exc:
            raise CommandError(args, 127, exc.strerror or str(exc)) from exc

    def _execute(
        self,
        args: list[str],
        *,
        input: bytes | None,
        timeout: float | None,
        check: bool,
        env: Mapping[str, str] | None,
        limit: int | None = None,
    ) -> CommandResult:
        proc = self._spawn(args, input, env)
        return self._finish(args, proc, input, timeout, check, limit, time.monotonic())

    @staticmethod
    def _finish(
        args: list[str],
        proc: Child,
        input: bytes | None,
        timeout: float | None,
        check: bool,
        limit: int | None,
        begun: float,
    ) -> CommandResult:
        """Collect a started program under the deadline `begun + timeout`."""
        from kindling.child import collect, kill_group

        try:
            out, err, stopped = collect(proc, input, timeout, limit, begun)
        except BaseException:
            kill_group(proc)
            raise
        if stopped is not None:
            kill_group(proc)
            raise CommandError(args, None, err.decode("utf-8", "replace"), reason=stopped)
        returncode = proc.returncode if proc.returncode is not None else -1
        result = CommandResult(tuple(args), returncode, out, err)
        if check and returncode != 0:
            raise CommandError(args, returncode, err.decode("utf-8", "replace"))
        return result


class Started:
    """A program `Host.start` left running; `wait()` gives what `Host.run` would have
    (a `CommandResult`, or its `CommandError`), the same answer on every call."""

    def __init__(self, collect: Callable[[], CommandResult]) -> None:
        self._collect: Callable[[], CommandResult] | None = collect
        self._result: CommandResult | None = None
        self._error: CommandError | None = None

    def wait(self) -> CommandResult:
        if self._collect is not None:
            collect, self._collect = self._collect, None
            try:
                self._result = collect()
            except CommandError as exc:
                self._error = exc
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


_PAST = {"write": "wrote", "set": "set", "send": "sent", "reload": "reloaded", "save": "saved",
         "signal": "signalled", "load": "loaded", "remove": "removed", "grow": "grew", "run": "ran",
         "change": "changed", "link": "linked", "apply": "applied"}


class PlanClock:
    """The recording host's clock: it tells the time, but a plan never sleeps."""

    def __init__(self, host: Host, inner: Clock) -> None:
        self._host = host
        self._inner = inner

    def monotonic(self) -> float:
        return self._inner.monotonic()

    def time(self) -> float:
        return self._inner.time()

    def sleep(self, seconds: float) -> None:
        raise PlanBoundary(f"wait {seconds:g}s", actions=list(self._host.actions))


class RecordingHost(Host):
    """`--plan`: reads for real, records every mutation, changes nothing; it sends no
    request and never waits (`network`, `waiting` and its clock raise PlanBoundary).

    Each recorded file write also keeps a unified diff of the old and new text in
    `diffs` (keyed by the action's index), so a plan can show what would change, not
    only that something would. Files written with no read access for others (0600
    credentials) and binary files get no diff: a plan must not print secrets.
    What the plan would have written is kept in `planned` (kindling/plan_overlay.py),
    and its reads see it, so later steps of one plan build on earlier ones."""

    recording = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.diffs: dict[int, str] = {}
        self.clock = PlanClock(self, self.clock)
        from kindling.plan_overlay import PlannedFiles

        self.planned = PlannedFiles()

    # reads see what the plan would have written so far (kindling/plan_overlay.py)
    def exists(self, p: str) -> bool:
        if not self.planned.planned(p):
            return super().exists(p) or self.planned.is_dir(p)
        return self.planned.lookup(p) is not None

    def read_bytes(self, p: str, *, limit: int | None = None) -> bytes:
        if not self.planned.planned(p):
            return super().read_bytes(p, limit=limit)
        found = self.planned.lookup(p)
        if found is None:
            raise HostError(f"{p}: cannot read: No such file or directory (removed by this plan)")
        if limit is not None and len(found[0]) > limit:
            raise HostError(f"{p}: larger than {limit} bytes")
        return found[0]

    def read_optional(self, p: str) -> str | None:
        if not self.planned.planned(p):
            return super().read_optional(p)
        found = self.planned.lookup(p)
        if found is None:
            return None
        try:
            return found[0].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HostError(f"{p}: cannot read: {exc}") from exc

    def listdir(self, p: str) -> list[str]:
        present, removed = self.planned.children(p)
        return sorted((set(super().listdir(p)) | present) - removed)

    def write_file(self, p: str, data: str | bytes, *, mode: int = 0o644) -> bool:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if not self.planned.planned(p):
            changed = super().write_file(p, raw, mode=mode)
        elif self.planned.lookup(p) == (raw, mode):
            changed = False
        else:
            self._record(f"write {p} ({len(raw)} bytes, mode {mode:04o})")
            changed = True
        if changed:
            self.planned.write(p, raw, mode)
        return changed

    def did(self, verb: str, what: str) -> str:
        return f"would {verb} {what}"

    def deferred_sync(self) -> AbstractContextManager[None]:
        """A plan writes nothing, so it has nothing to make durable."""
        return _NoScope()

    def network(self, what: str) -> None:
        raise PlanBoundary(what, actions=list(self.actions))

    def waiting(self, what: str, at_most: float | None) -> None:
        limit = "" if at_most is None else f" (at most {at_most:g}s)"
        raise PlanBoundary(f"wait for {what}{limit}", actions=list(self.actions))

    def makedirs(self, p: str, mode: int = 0o755) -> None:
        if not os.path.isdir(self.real(p)) and not self.planned.is_dir(p):
            self._record(f"mkdir {p}")
            self.planned.mkdir(p)

    def _diff(self, target: str, raw: bytes, mode: int | None) -> None:
        if mode is not None and not mode & 0o044:
            return
        import difflib

        try:
            old = read_all(target).decode("utf-8") if os.path.exists(target) else ""
            new = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return
        base = self.real_root.rstrip("/")
        name = target[len(base):] if target.startswith(base + "/") else target
        lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     fromfile=name, tofile=name, n=1)
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        if text:
            self.diffs[len(self.actions) - 1] = text

    def _write_atomic(self, target: str, raw: bytes, mode: int, *, durable: bool = True) -> None:
        self._diff(target, raw, mode)

    def _write_in_place(self, target: str, raw: bytes) -> None:
        self._diff(target, raw, None)

    def write_in_place(self, p: str, data: str | bytes) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        super().write_in_place(p, raw)
        self.planned.write(p, raw, 0o644)

    def _chown(self, target: str, uid: int, gid: int) -> None:
        return None

    def _replace_tail(self, target: str, keep: int, tail: bytes) -> None:
        return None

    def remove(self, p: str) -> bool:
        target = self.real_entry(p)
        gone = self.planned.lookup(p) is None if self.planned.planned(p) else not os.path.lexists(target)
        if gone:
            return False
        self._record(f"remove {p}")
        self.planned.remove(p)
        return True

    def symlink(self, target: str, p: str) -> bool:
        if self.replay is not None and p.startswith("/run/"):
            self.replay.append(("symlink", p, target.encode(), 0))
        link = self.real_entry(p)
        if os.path.islink(link) and os.readlink(link) == target:
            return False
        self._record(f"symlink {p} -> {target}")
        return True

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = 60.0,
        check: bool = True,
        read_only: bool = False,
        env: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> CommandResult:
        args = list(argv)
        if read_only:
            return self._execute(args, input=input, timeout=timeout, check=check, env=env, limit=limit)
        self._record("run " + " ".join(args))
        return CommandResult(tuple(args), 0, b"", b"")

    def start(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = 60.0,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Started:
        args = list(argv)
        self._record("run " + " ".join(args))
        return Started(lambda: CommandResult(tuple(args), 0, b"", b""))


def host_from_env(
    root: str | None = None, *, plan: bool = False, env: Mapping[str, str] | None = None
) -> Host:
    """The Host the CLI builds: `--root`, else `KINDLING_ROOT`, else `/`.

    A root that is not an existing directory is a usage error (exit 2), never
    created: a typo must not grow a fresh tree that a read-only `get` then reports.
    """
    environ = os.environ if env is None else env
    chosen = root or environ.get("KINDLING_ROOT") or "/"
    if not os.path.isdir(chosen):
        from kindling.errors import UsageError

        option = "--root" if root else "KINDLING_ROOT"
        raise UsageError(f"{option} {chosen}: no such directory")
    cls = RecordingHost if plan else Host
    return cls(chosen, env=environ)
