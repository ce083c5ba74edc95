"""A boot's durable writes: fsyncs deferred to one barrier, the barrier before what lets
a later boot skip work (a marker, the boot state), and a power cut at any point repaired
by the next boot (docs/CONTRACT-NOTES.md, "one barrier")."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kindling.boot import UNCHANGED, BootContext, Stage, StageResult, ok, run_boot, skipped
from kindling.boot_fingerprint import STATE_PATH
from kindling.first_boot import marker_done, write_marker
from kindling.host import Host, RecordingHost

ONCE = "/var/lib/kindling/once.ran"


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
        seen.append(f"fsync {name}")
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


def test_the_barrier_starts_every_files_writeback_before_its_first_fsync(
        host: Host, root: Path, events: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The allocations of all pending files then join one journal commit; each fsync
    is still done, in the same order (only when the writeback starts changes)."""
    real = os.posix_fadvise

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        assert (offset, length, advice) == (0, 0, os.POSIX_FADV_DONTNEED)
        events.append(f"writeback {os.readlink(f'/proc/self/fd/{fd}')}")
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", fadvise)
    with host.deferred_sync():
        host.write_file("/etc/a.conf", "a")
        host.write_file("/var/lib/kindling/c", "c")
        host.write_file("/run/kindling/d", "d")  # a tmpfs: neither
        host.barrier()
        assert rel(root, events) == ["writeback /etc/a.conf", "writeback /var/lib/kindling/c",
                                     "fsync /etc/a.conf", "fsync /var/lib/kindling/c",
                                     "fsync /etc", "fsync /var/lib/kindling"]
    assert (root / "etc/a.conf").read_text() == "a"


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
    marker = seen.index(f"write {ONCE}")
    state = seen.index(f"write {STATE_PATH}")
    assert seen[:marker] == ["write /etc/once.conf", "write /var/lib/kindling/once.state",
                             "fsync /etc/once.conf", "fsync /var/lib/kindling/once.state",
                             "fsync /etc", "fsync /var/lib/kindling"]
    assert seen[marker + 1:marker + 3] == [f"fsync {ONCE}", "fsync /var/lib/kindling"]  # a marker is whole
    assert seen[marker + 3:state] == ["write /etc/out.conf", "write /run/kindling/out.status",
                                      "fsync /etc/out.conf", "fsync /etc"]
    assert seen[state:] == [f"write {STATE_PATH}", f"fsync {STATE_PATH}", "fsync /var/lib/kindling"]


def _tree(root: Path) -> dict[str, bytes]:
    """What a boot leaves that matters: everything but /run (empty after a reboot) and the
    boot state (its entries say whether a stage ran or was skipped for its marker)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not str(p.relative_to(root)).startswith("run/")
            and "/" + str(p.relative_to(root)) != STATE_PATH}


class PowerCutHost(Host):
    """Stops the boot right after writing `cut_after` (the machine loses power there);
    `power_cut` then loses what a power cut may: any write not yet behind a barrier. Once
    the power is gone nothing more reaches the disk: the runner's crash path still calls
    `barrier()` (the end of `deferred_sync()`), which then makes nothing durable."""

    def __init__(self, root: Path, cut_after: str) -> None:
        super().__init__(root, env={})
        self.cut_after = cut_after
        self.cut = False
        self.volatile: dict[Path, bytes | None] = {}

    def write_file(self, p: str, data: str | bytes, *, mode: int = 0o644) -> bool:
        changed = super().write_file(p, data, mode=mode)
        if p == self.cut_after:
            self.cut = True
            raise SystemExit("power cut")  # not an Exception: the runner does not catch it
        return changed

    def _write_atomic(self, target: str, raw: bytes, mode: int, *, durable: bool = True) -> None:
        file = Path(target)
        if not durable and not file.is_relative_to(self.root / "run") and file not in self.volatile:
            self.volatile[file] = file.read_bytes() if file.exists() else None
        super()._write_atomic(target, raw, mode, durable=durable)

    def barrier(self) -> None:
        super().barrier()
        if not self.cut:  # after the cut a barrier's fsyncs reach no disk
            self.volatile.clear()

    def power_cut(self, survives: Callable[[Path], bool], lost_new: str) -> None:
        for target, old in self.volatile.items():
            if survives(target):
                continue
            if old is not None:
                target.write_bytes(old)
            elif lost_new == "empty":  # the rename reached the disk, the data did not
                target.write_bytes(b"")
            else:
                target.unlink()


@pytest.mark.parametrize("cut_after", ["/etc/once.conf", ONCE, "/etc/out.conf", STATE_PATH])
@pytest.mark.parametrize("survivor", ["nothing", "kindling-state", "everything"])
@pytest.mark.parametrize("lost_new", ["absent", "empty"])
def test_a_power_cut_anywhere_is_repaired_by_the_next_boot(tmp_path: Path, cut_after: str, survivor: str,
                                                           lost_new: str) -> None:
    reference = tmp_path / "reference"
    _seed(reference)
    assert run_boot(Host(reference, env={}), "metal", stages=_stages()).ok
    root = tmp_path / "root"
    _seed(root)
    h = PowerCutHost(root, cut_after)
    with pytest.raises(SystemExit):
        run_boot(h, "metal", stages=_stages())
    # the worst case for ordering: Kindling's own state reaches the disk, the files it vouches for do not
    rules: dict[str, Callable[[Path], bool]] = {
        "nothing": lambda p: False,
        "kindling-state": lambda p: p.is_relative_to(root / "var/lib/kindling"),
        "everything": lambda p: True,
    }
    h.power_cut(rules[survivor], lost_new)
    again = run_boot(Host(root, env={}), "metal", stages=_stages())
    assert again.ok
    assert _tree(root) == _tree(reference)
    later = run_boot(Host(root, env={}), "metal", stages=_stages())  # and the state it left is usable
    assert [r.detail for r in later.records][1:] == [UNCHANGED]
