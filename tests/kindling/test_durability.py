"""A boot's durable writes: fsyncs deferred to one barrier, the barrier before what lets
a later boot skip work (a marker, the boot state), and a power cut at any point repaired
by the next boot (docs/CONTRACT-NOTES.md, "one barrier")."""

from __future__ import annotations

import _thread
import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kindling.boot import UNCHANGED, BootContext, Stage, StageRecord, StageResult, ok, run_boot, skipped
from kindling.boot_fingerprint import STATE_PATH
from kindling.errors import HostError
from kindling.first_boot import marker_done, write_marker
from kindling.host import Host, RecordingHost

ONCE = "/var/lib/kindling/once.ran"
MAIN = _thread.get_ident()
FLUSH = "(flush) "  # an fsync the marker's flush made, on its own thread


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every real fsync, as `fsync <path>` (temp names folded to the file they become)."""
    seen: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.endswith(".kindling-tmp"):  # .<name>.<random>.kindling-tmp
            head, _, base = name.rpartition("/")
            name = f"{head}/{base[1:].rsplit('.', 2)[0]}"
        seen.append(f"{'' if _thread.get_ident() == MAIN else FLUSH}fsync {name}")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    yield seen


class OrderHost(Host):
    """Adds each file write to the same event list as the fsyncs."""

    def __init__(self, root: Path, events: list[str]) -> None:
        super().__init__(root, env={})
        self.events = events

    def write_file(self, p: str, data: str | bytes, *, mode: int = 0o644) -> bool:
        self.events.append(f"write {p}")
        return super().write_file(p, data, mode=mode)


def rel(root: Path, seen: list[str]) -> list[str]:
    return [e.replace(str(root), "") for e in seen]


def test_writes_outside_a_boot_are_durable_on_return(host: Host, root: Path, events: list[str]) -> None:
    host.write_file("/etc/a.conf", "a")
    host.write_file("/run/kindling/x", "x")
    assert rel(root, events) == ["fsync /etc/a.conf", "fsync /etc"]


def test_deferred_writes_wait_for_one_barrier_each_directory_once(host: Host, root: Path,
                                                                   events: list[str]) -> None:
    with host.deferred_sync():
        host.write_file("/etc/a.conf", "a")
        host.write_file("/etc/b.conf", "b")
        host.write_file("/var/lib/kindling/c", "c")
        host.write_file("/run/kindling/d", "d")  # a tmpfs: never synced
        host.write_file("/boot/loader/entries/e.conf", "e")  # firmware reads it: synced at once
        assert rel(root, events) == ["fsync /boot/loader/entries/e.conf", "fsync /boot/loader/entries"]
        assert (root / "etc/a.conf").read_text() == "a"  # in place already, only not yet synced
        events.clear()
        host.barrier()
        assert rel(root, events) == ["fsync /etc/a.conf", "fsync /etc/b.conf", "fsync /var/lib/kindling/c",
                                     "fsync /etc", "fsync /var/lib/kindling"]
        events.clear()
        host.barrier()  # nothing new: nothing to do
        host.write_file("/etc/a.conf", "a2")
        host.remove("/etc/a.conf")  # written then removed: its directory carries that
    assert rel(root, events) == ["fsync /etc"]
    assert host.unsynced is None


def test_a_block_that_fails_still_ends_in_a_barrier_and_its_error_is_the_one_raised(
        host: Host, root: Path, events: list[str]) -> None:
    with pytest.raises(KeyError, match="the block's own"), host.deferred_sync():
        host.write_file("/etc/a.conf", "a")
        assert events == []
        raise KeyError("the block's own")
    assert rel(root, events) == ["fsync /etc/a.conf", "fsync /etc"]
    assert host.unsynced is None


def test_a_barrier_that_fails_after_a_failure_does_not_hide_it(host: Host, root: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with pytest.raises(KeyError, match="first"), host.deferred_sync():
        host.write_file("/etc/a.conf", "a")
        monkeypatch.setattr(os, "fsync", broken)
        raise KeyError("first")
    assert host.unsynced is None


def test_a_plan_syncs_nothing(plan_host: RecordingHost, root: Path, events: list[str]) -> None:
    with plan_host.deferred_sync():
        plan_host.write_file("/etc/a.conf", "a")
        plan_host.barrier()
    assert events == []
    assert list(root.iterdir()) == []


def _stages() -> list[Stage]:
    """`once` runs until its marker exists (as early-boot-config); `render` is fingerprinted."""

    def once(ctx: BootContext) -> StageResult:
        h = ctx.host
        if marker_done(h, ONCE, "test"):
            return skipped("marker present")
        h.write_file("/etc/once.conf", h.read_text("/etc/kindling/input.conf"))
        h.write_file("/var/lib/kindling/once.state", "seen\n")
        write_marker(h, ONCE, {"input": "read"})
        return ok()

    def render(ctx: BootContext) -> StageResult:
        h = ctx.host
        h.write_file("/etc/out.conf", h.read_text("/etc/kindling/input.conf").upper())
        h.write_file("/run/kindling/out.status", "up\n")
        return ok()

    return [Stage("once", 30, once), Stage("render", 50, render, after=("once",))]


def _seed(root: Path) -> None:
    (root / "etc/kindling").mkdir(parents=True)
    (root / "etc/kindling/input.conf").write_text("value\n")


def test_the_barrier_comes_before_the_marker_and_the_boot_state(root: Path, events: list[str]) -> None:
    _seed(root)
    h = OrderHost(root, events)
    assert run_boot(h, "metal", stages=_stages()).ok
    seen = [e for e in rel(root, events) if not e.endswith("progress.json") and "timeline" not in e]
    flush = [e.removeprefix(FLUSH) for e in seen if e.startswith(FLUSH)]
    # the marked stage's files, each directory once, then the marker, whole, last
    assert flush == ["fsync /etc/once.conf", "fsync /var/lib/kindling/once.state", "fsync /etc",
                     "fsync /var/lib/kindling", f"fsync {ONCE}", "fsync /var/lib/kindling"]
    main = [e for e in seen if not e.startswith(FLUSH)]
    assert main == ["write /etc/once.conf", "write /var/lib/kindling/once.state",  # the marker: not waited for here
                    "write /etc/out.conf", "write /run/kindling/out.status", "fsync /etc/out.conf", "fsync /etc",
                    f"write {STATE_PATH}", f"fsync {STATE_PATH}", "fsync /var/lib/kindling"]
    assert seen.index(f"write {STATE_PATH}") > max(i for i, e in enumerate(seen) if e.startswith(FLUSH))
    assert marker_done(h, ONCE, "test") and h.unsynced is None and not h.awaits(ONCE)


def test_a_marker_is_written_after_its_flush_and_a_reader_waits_for_it(host: Host, root: Path,
                                                                       events: list[str]) -> None:
    with host.deferred_sync():
        host.write_file("/etc/a.conf", "a")
        write_marker(host, ONCE, {"n": 1})
        assert host.awaits(ONCE) and host.unsynced == {}  # the flush took the pending files
        host.write_file("/etc/b.conf", "b")  # after the marker: the next barrier's
        assert marker_done(host, ONCE, "test")  # waited for the flush (and that barrier)
        assert not host.awaits(ONCE)
    assert [e.removeprefix(FLUSH) for e in rel(root, events)] == [
        "fsync /etc/a.conf", "fsync /etc", f"fsync {ONCE}", "fsync /var/lib/kindling",
        "fsync /etc/b.conf", "fsync /etc"]
    assert [e.startswith(FLUSH) for e in events] == [True] * 4 + [False] * 2


def test_a_marker_outside_a_boot_or_in_a_plan_starts_no_flush(host: Host, plan_host: RecordingHost, root: Path,
                                                               events: list[str]) -> None:
    threads = _thread._count()
    with plan_host.deferred_sync():
        write_marker(plan_host, ONCE, {"n": 1})
    assert events == [] and list(root.iterdir()) == []
    assert plan_host.actions[-1].startswith(f"write {ONCE} ")
    write_marker(host, ONCE, {"n": 1})  # outside `deferred_sync()`: durable on return, as before
    assert rel(root, events) == [f"fsync {ONCE}", "fsync /var/lib/kindling"]
    assert _thread._count() == threads


def _tree(root: Path) -> dict[str, bytes]:
    """What a boot leaves that matters: everything but /run (empty after a reboot) and the
    boot state (its entries say whether a stage ran or was skipped for its marker)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not str(p.relative_to(root)).startswith("run/")
            and "/" + str(p.relative_to(root)) != STATE_PATH}


class PowerCutHost(Host):
    """Stops the boot right after writing `cut_after` (the machine loses power there);
    `power_cut` then loses what a power cut may: any write not yet behind a barrier, nor
    behind a flush that finished. With `flush="running"` a marker's flush stays at its first
    fsync until the power goes (or the boot waits for it); with "done" it ends before the
    boot goes on. Once the power is gone nothing more reaches the disk: the runner's crash
    path still calls `barrier()`, which then makes nothing durable."""

    def __init__(self, root: Path, cut_after: str, flush: str = "done") -> None:
        super().__init__(root, env={})
        self.cut_after = cut_after
        self.flush = flush
        self.cut = False
        self.volatile: dict[Path, bytes | None] = {}
        self.flushing: dict[Path, bytes | None] = {}  # handed to a marker's flush, not yet known on disk
        self.gate = _thread.allocate_lock()
        if flush == "running":
            self.gate.acquire()

    def fsync(self, real: Callable[[int], None]) -> Callable[[int], None]:
        """os.fsync as the flush thread meets it: held at the gate, failing once the power is gone."""
        def fsync(fd: int) -> None:
            if _thread.get_ident() != MAIN:
                with self.gate:
                    pass
                if self.cut:
                    raise OSError(errno.EIO, "Input/output error")
            real(fd)
        return fsync

    def _power_off(self) -> None:
        self.cut = True
        if self.gate.locked():
            self.gate.release()
        raise SystemExit("power cut")  # not an Exception: the runner does not catch it

    def write_file(self, p: str, data: str | bytes, *, mode: int = 0o644) -> bool:
        changed = super().write_file(p, data, mode=mode)
        if p == self.cut_after:
            self._power_off()
        return changed

    def write_after_barrier(self, p: str, data: str | bytes, *, mode: int = 0o644) -> None:
        self.flushing.update(self.volatile)
        self.volatile.clear()
        super().write_after_barrier(p, data, mode=mode)
        if self.flush == "done":
            self._settle()
            self.flushing.clear()
        if p == self.cut_after:
            self._power_off()

    def _write_atomic(self, target: Path, raw: bytes, mode: int, *, durable: bool = True) -> None:
        if not durable and not target.is_relative_to(self.root / "run") and target not in self.volatile:
            self.volatile[target] = target.read_bytes() if target.exists() else None
        super()._write_atomic(target, raw, mode, durable=durable)

    def barrier(self) -> None:
        if self.cut:
            with contextlib.suppress(HostError):  # the flush ends: before the cut, or failing at it
                self._settle()
                self.flushing.clear()
            return
        if self.gate.locked():  # the boot waits for the flush: it can go on
            self.gate.release()
        super().barrier()
        self.volatile.clear()
        self.flushing.clear()

    def power_cut(self, survives: Callable[[Path], bool], lost_new: str) -> None:
        for target, old in {**self.flushing, **self.volatile}.items():
            if survives(target):
                continue
            if old is not None:
                target.write_bytes(old)
            elif lost_new == "empty":  # the rename reached the disk, the data did not
                target.write_bytes(b"")
            else:
                target.unlink()


def _reference(tmp_path: Path) -> Path:
    reference = tmp_path / "reference"
    _seed(reference)
    assert run_boot(Host(reference, env={}), "metal", stages=_stages()).ok
    return reference


def _repaired(root: Path, reference: Path) -> None:
    """The next boots on healthy power: the first repairs, the state it leaves is usable."""
    again = run_boot(Host(root, env={}), "metal", stages=_stages())
    assert again.ok
    assert _tree(root) == _tree(reference)
    later = run_boot(Host(root, env={}), "metal", stages=_stages())
    assert [r.detail for r in later.records][1:] == [UNCHANGED]


@pytest.mark.parametrize("cut_after", ["/etc/once.conf", ONCE, "/etc/out.conf", STATE_PATH])
@pytest.mark.parametrize("survivor", ["nothing", "kindling-state", "everything"])
@pytest.mark.parametrize("lost_new", ["absent", "empty"])
@pytest.mark.parametrize("flush", ["done", "running"])
def test_a_power_cut_anywhere_is_repaired_by_the_next_boot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           cut_after: str, survivor: str, lost_new: str,
                                                           flush: str) -> None:
    reference = _reference(tmp_path)
    root = tmp_path / "root"
    _seed(root)
    h = PowerCutHost(root, cut_after, flush)
    monkeypatch.setattr(os, "fsync", h.fsync(os.fsync))
    with pytest.raises(SystemExit):
        run_boot(h, "metal", stages=_stages())
    monkeypatch.undo()
    # the worst case for ordering: Kindling's own state reaches the disk, the files it vouches for do not
    rules: dict[str, Callable[[Path], bool]] = {
        "nothing": lambda p: False,
        "kindling-state": lambda p: p.is_relative_to(root / "var/lib/kindling"),
        "everything": lambda p: True,
    }
    h.power_cut(rules[survivor], lost_new)
    if flush == "running" and cut_after != STATE_PATH:  # cut before its flush ended: no marker without its files
        assert not (root / ONCE.lstrip("/")).exists()
    _repaired(root, reference)


def test_a_flush_that_fails_fails_the_boot_and_nothing_vouches_for_its_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _reference(tmp_path)
    root = tmp_path / "root"
    _seed(root)
    real = os.fsync

    def fsync(fd: int) -> None:
        if _thread.get_ident() != MAIN and os.readlink(f"/proc/self/fd/{fd}").endswith("/once.state"):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    h = Host(root, env={})
    with pytest.raises(HostError, match=f"^{ONCE} not written: .*once.state: cannot make it durable: Input/output"):
        run_boot(h, "metal", stages=_stages())
    monkeypatch.undo()
    assert not (root / ONCE.lstrip("/")).exists()
    assert not (root / STATE_PATH.lstrip("/")).exists()  # every barrier after it failed too
    assert h.unsynced is None and not h.awaits(ONCE)
    _repaired(root, reference)


def test_a_runner_that_crashes_while_the_flush_runs_leaves_the_marker_behind_its_files(
        root: Path, events: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(root)
    h = PowerCutHost(root, "never", flush="running")  # held until the crash path's barrier waits for it
    monkeypatch.setattr(os, "fsync", h.fsync(os.fsync))

    def crash(record: StageRecord) -> None:
        if record.name == "once":
            assert h.awaits(ONCE) and not any(e.startswith(FLUSH) for e in events)  # held at its first fsync
            raise RuntimeError("the runner itself")

    with pytest.raises(RuntimeError, match="the runner itself"):
        run_boot(h, "metal", stages=_stages(), on_record=crash)
    assert not h.awaits(ONCE) and h.unsynced is None
    assert marker_done(Host(root, env={}), ONCE, "test")
    seen = rel(root, events)
    assert [e.removeprefix(FLUSH) for e in seen if e.startswith(FLUSH)][-2:] == [f"fsync {ONCE}",
                                                                               "fsync /var/lib/kindling"]
    assert not (root / STATE_PATH.lstrip("/")).exists()
