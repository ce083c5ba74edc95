"""The Host seam: every side effect of Kindling goes through one of these (DESIGN §2).

A Host owns the root prefix under which every path of DESIGN §3 lives (including
/proc, /sys and /dev when the root is not `/`), the command runner, the clock, the
environment and the network namespace. Services receive a Host and never build one;
the CLI builds it from `--root` / `KINDLING_ROOT` and `--plan`.

Two implementations, one protocol (as httpx's transports):
- `Host` acts for real: files are written atomically (temp file, fsync, rename) and
  programs really run.
- `RecordingHost` (`--plan`) reads for real but records every mutation instead of
  doing it; read-only commands (`read_only=True`) still run so a plan can look at
  the machine. Logic never asks "am I planning?": it just calls the Host.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from kindling.errors import CommandError, HostError
from kindling.record import field, record

TYPE_CHECKING = False  # typing and subprocess cost ~13 ms to import; most boots run no program
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Protocol
else:
    Protocol = object

__all__ = [
    "Clock",
    "CommandResult",
    "FakeClock",
    "Host",
    "RealClock",
    "RecordingHost",
    "host_from_env",
    "make_dirs",
]


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


def make_dirs(target: Path, mode: int = 0o755) -> None:
    """`mkdir -p` whose modes do not depend on the process umask.

    `Path.mkdir(parents=True)` gives missing parents 0777 & ~umask: under systemd's
    usual 022 that is 0755, but a unit or shell with umask 0 would leave /etc, /run/kindling
    … world-writable (found by tests/reliability/test_modes.py). Each directory created
    here gets `mode` (the leaf) or 0755 (parents) exactly; existing ones are left alone.
    """
    missing: list[Path] = []
    probe = target
    while not probe.is_dir():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for i, directory in enumerate(reversed(missing)):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        os.chmod(directory, mode if i == len(missing) - 1 else 0o755)

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
        self.root = Path(root).resolve()
        self.clock: Clock = clock or RealClock()
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.netns = netns
        self.actions: list[str] = []
        # Set by the boot runner while a stage runs (kindling/boot_fingerprint.py): the
        # paths the stage resolved, and its per-boot effects (/run files, live kernel values).
        self.seen: set[str] | None = None
        self.replay: list[tuple[str, str, bytes, int]] | None = None

    # -- paths ---------------------------------------------------------------
    @property
    def prefixed(self) -> bool:
        """True when a root prefix is in force (tests, image builders, the demo)."""
        return self.root != Path("/")

    def path(self, p: str | os.PathLike[str]) -> Path:
        """The real location of the absolute path `p` under the root prefix."""
        text = os.fspath(p)
        if self.seen is not None:
            self.seen.add(text)
        rel = text.lstrip("/")
        return self.root / rel if rel else self.root

    def proc(self, rel: str) -> Path:
        return self.path("/proc/" + rel.lstrip("/"))

    def sys(self, rel: str) -> Path:
        return self.path("/sys/" + rel.lstrip("/"))

    def dev(self, rel: str) -> Path:
        return self.path("/dev/" + rel.lstrip("/"))

    # -- reading (identical in both implementations) --------------------------
    def exists(self, p: str) -> bool:
        return self.path(p).exists()

    def read_bytes(self, p: str, *, limit: int | None = None) -> bytes:
        """Read a file; with `limit`, refuse files larger than that many bytes."""
        try:
            with open(self.path(p), "rb") as fh:
                data = fh.read(-1 if limit is None else limit + 1)
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
        try:
            return self.path(p).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise HostError(f"{p}: cannot read: {exc}") from exc

    def listdir(self, p: str) -> list[str]:
        try:
            found = sorted(os.listdir(self.path(p)))
        except FileNotFoundError:
            found = []
        if self.seen is not None:  # the names are an input, not just "is a directory"
            self.seen.add(p.rstrip("/") + "/")
        return found

    # -- mutations --------------------------------------------------------------
    def _record(self, action: str) -> None:
        self.actions.append(action)

    def makedirs(self, p: str, mode: int = 0o755) -> None:
        target = self.path(p)
        if target.is_dir():
            return
        self._record(f"mkdir {p}")
        make_dirs(target, mode)

    def write_file(self, p: str, data: str | bytes, *, mode: int = 0o644) -> bool:
        """Atomically replace `p` with `data`; returns False when it already held it.

        Temp file in the same directory, fsync, rename, fsync of the directory: a
        crash leaves the old or the new file, never a torn one.
        """
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if self.replay is not None and p.startswith("/run/"):
            self.replay.append(("file", p, raw, mode))
        target = self.path(p)
        try:
            if target.read_bytes() == raw and (target.stat().st_mode & 0o7777) == mode:
                return False
        except OSError:
            pass
        self._record(f"write {p} ({len(raw)} bytes, mode {mode:04o})")
        self._write_atomic(target, raw, mode, durable=not p.startswith("/run/"))
        return True

    def _write_atomic(self, target: Path, raw: bytes, mode: int, *, durable: bool = True) -> None:
        """`durable=False` for /run (a tmpfs, gone at the next boot): the rename alone is
        atomic; the two fsyncs cost ~0.5 ms each and protect nothing there."""
        tmp = target.with_name(f".{target.name}.kindling-tmp.{os.getpid()}")
        try:
            make_dirs(target.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
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
            if durable:
                dfd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError as exc:
            # a full disk fails the write, not the open: leave no temp file behind
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise HostError(f"{target}: cannot write: {exc.strerror or exc}") from exc

    def write_in_place(self, p: str, data: str | bytes) -> None:
        """Write into an existing file without rename: kernel files under /proc/sys
        (hostname, sysctls) cannot be replaced atomically, only written."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if self.replay is not None:
            self.replay.append(("live", p, raw, 0))
        self._record(f"write-in-place {p} ({len(raw)} bytes)")
        self._write_in_place(self.path(p), raw)

    def _write_in_place(self, target: Path, raw: bytes) -> None:
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
        target = self.path(p)
        if not target.exists() and not target.is_symlink():
            return False
        self._record(f"remove {p}")
        try:
            target.unlink()
        except OSError as exc:
            raise HostError(f"{p}: cannot remove: {exc.strerror or exc}") from exc
        return True

    def symlink(self, target: str, p: str) -> bool:
        if self.replay is not None and p.startswith("/run/"):
            self.replay.append(("symlink", p, target.encode(), 0))
        link = self.path(p)
        if link.is_symlink() and os.readlink(link) == target:
            return False
        self._record(f"symlink {p} -> {target}")
        make_dirs(link.parent)
        tmp = link.with_name(f".{link.name}.kindling-tmp")
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(target, tmp)
        os.replace(tmp, link)
        return True

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
    ) -> CommandResult:
        """Run a program; `read_only=True` promises it changes nothing (plans run it).

        A non-zero exit raises `CommandError` when `check`; a timeout always raises.
        """
        args = list(argv)
        if not read_only:
            self._record("run " + " ".join(args))
        return self._execute(args, input=input, timeout=timeout, check=check, env=env)

    def _execute(
        self,
        args: list[str],
        *,
        input: bytes | None,
        timeout: float | None,
        check: bool,
        env: Mapping[str, str] | None,
    ) -> CommandResult:
        import subprocess

        full_env = dict(self.env)
        if env:
            full_env.update(env)
        try:
            proc = subprocess.run(
                args,
                input=input,
                capture_output=True,
                timeout=timeout,
                env=full_env,
                stdin=None if input is not None else subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            err = exc.stderr.decode("utf-8", "replace") if exc.stderr else ""
            raise CommandError(args, None, err) from exc
        except OSError as exc:
            raise CommandError(args, 127, exc.strerror or str(exc)) from exc
        result = CommandResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise CommandError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return result


class RecordingHost(Host):
    """`--plan`: reads for real, records every mutation, changes nothing."""

    recording = True

    def makedirs(self, p: str, mode: int = 0o755) -> None:
        if not self.path(p).is_dir():
            self._record(f"mkdir {p}")

    def _write_atomic(self, target: Path, raw: bytes, mode: int, *, durable: bool = True) -> None:
        return None

    def _write_in_place(self, target: Path, raw: bytes) -> None:
        return None

    def remove(self, p: str) -> bool:
        target = self.path(p)
        if not target.exists() and not target.is_symlink():
            return False
        self._record(f"remove {p}")
        return True

    def symlink(self, target: str, p: str) -> bool:
        if self.replay is not None and p.startswith("/run/"):
            self.replay.append(("symlink", p, target.encode(), 0))
        link = self.path(p)
        if link.is_symlink() and os.readlink(link) == target:
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
    ) -> CommandResult:
        args = list(argv)
        if read_only:
            return self._execute(args, input=input, timeout=timeout, check=check, env=env)
        self._record("run " + " ".join(args))
        return CommandResult(tuple(args), 0, b"", b"")


def host_from_env(
    root: str | None = None, *, plan: bool = False, env: Mapping[str, str] | None = None
) -> Host:
    """The Host the CLI builds: `--root`, else `KINDLING_ROOT`, else `/`."""
    environ = os.environ if env is None else env
    chosen = root or environ.get("KINDLING_ROOT") or "/"
    cls = RecordingHost if plan else Host
    return cls(chosen, env=environ)
