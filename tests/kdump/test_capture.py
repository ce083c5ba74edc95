"""`kdump capture` and `status`: the crash-kernel guard, makedumpfile argv, retention,
free-space refusal (nothing deleted or written), partial dumps marked."""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest

from kdump.capture import capture_dump
from kdump.dumps import list_dumps
from kdump.errors import KdumpError, NoSpaceForDump, NotInCrashKernel
from tests.kdump.conftest import Rig

# FakeClock's time: 1_700_000_000 = 2023-11-14T22:13:20Z
NAME = "20231114T221320Z"


def _vmcore(rig: Rig, size: int = 1 << 20) -> str:
    p = rig.plant("proc/vmcore", b"")
    os.truncate(p, size)  # sparse: the apparent size is what capture sizes against
    return str(p)


def _old_dump(rig: Rig, name: str, status: str = "complete\n") -> None:
    rig.plant(f"var/log/kdump/{name}/vmcore.dump", b"x" * 100)
    rig.plant(f"var/log/kdump/{name}/dmesg.log", b"y" * 10)
    rig.plant(f"var/log/kdump/{name}/status", status)


def test_refuses_outside_the_crash_kernel(rig: Rig, tree_snapshot: Any) -> None:
    before = tree_snapshot(rig.root)
    with pytest.raises(NotInCrashKernel, match="not running in a crash kernel"):
        capture_dump(rig.host, {})
    assert tree_snapshot(rig.root) == before and rig.calls() == []


def test_captures_dmesg_then_vmcore(rig: Rig) -> None:
    vmcore = _vmcore(rig)
    result = capture_dump(rig.host, {})
    out = rig.root / "var/log/kdump" / NAME
    assert result.complete and result.path == f"/var/log/kdump/{NAME}"
    assert rig.calls() == [
        f"makedumpfile --dump-dmesg --message-level 4 {vmcore} {out}/dmesg.log",
        f"makedumpfile -c --message-level 4 -d 31 {vmcore} {out}/vmcore.dump",
    ]
    assert (out / "status").read_text() == "complete\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((rig.root / "var/log/kdump").stat().st_mode) == 0o700
    (dump,) = list_dumps(rig.host)
    assert dump.status == "complete" and dump.files == {"dmesg.log": 9, "vmcore.dump": 9}


def test_retention_keeps_at_most_keep_dumps(rig: Rig) -> None:
    _vmcore(rig)
    for name in ("20230101T000000Z", "20230201T000000Z", "20230301T000000Z"):
        _old_dump(rig, name)
    rig.plant("var/log/kdump/notes.txt", "mine")  # never touched
    result = capture_dump(rig.host, {"kdump": {"keep": 2}})
    assert result.removed == ["20230101T000000Z", "20230201T000000Z"]
    assert [d.name for d in list_dumps(rig.host)] == ["20230301T000000Z", NAME]
    assert (rig.root / "var/log/kdump/notes.txt").read_text() == "mine"
    assert rig.calls()[0].startswith("makedumpfile --dump-dmesg")


def test_default_keep_is_three(rig: Rig) -> None:
    _vmcore(rig)
    for month in range(1, 6):
        _old_dump(rig, f"20230{month}01T000000Z")
    capture_dump(rig.host, {})
    assert len(list_dumps(rig.host)) == 3


def test_no_space_refuses_before_deleting_or_writing(rig: Rig, tree_snapshot: Any) -> None:
    _vmcore(rig, size=1 << 43)  # an 8 TiB crashed kernel: its dump cannot fit here
    _old_dump(rig, "20230101T000000Z")
    before = tree_snapshot(rig.root / "var")  # (the 8 TiB sparse vmcore is not read)
    with pytest.raises(NoSpaceForDump, match="not capturing"):
        capture_dump(rig.host, {"kdump": {"keep": 1}})
    assert tree_snapshot(rig.root / "var") == before and rig.calls() == []
    assert sorted(p.name for p in (rig.root / "var/log/kdump").iterdir()) == [
        "20230101T000000Z"]


def test_failed_vmcore_is_marked_partial(rig: Rig) -> None:
    _vmcore(rig)
    rig.fail("makedumpfile", "-d 31")
    with pytest.raises(KdumpError, match="marked partial"):
        capture_dump(rig.host, {})
    (dump,) = list_dumps(rig.host)
    assert dump.status == "partial" and "makedumpfile exited 3" in dump.detail


def test_failed_dmesg_is_noted_not_fatal(rig: Rig) -> None:
    _vmcore(rig)
    rig.fail("makedumpfile", "--dump-dmesg")
    result = capture_dump(rig.host, {})
    assert result.complete and "dmesg.log" in result.notes[0]
    assert list_dumps(rig.host)[0].status == "complete"


def test_interrupted_capture_lists_as_partial(rig: Rig) -> None:
    _old_dump(rig, "20230101T000000Z", status="capturing\n")
    _old_dump(rig, "20230102T000000Z", status="")
    dumps = list_dumps(rig.host)
    assert [(d.status, d.detail) for d in dumps] == [
        ("partial", "capture was interrupted"), ("partial", "no status file")]


def test_two_captures_in_one_second_get_distinct_directories(rig: Rig) -> None:
    _vmcore(rig)
    first = capture_dump(rig.host, {})
    second = capture_dump(rig.host, {})
    assert (first.name, second.name) == (NAME, NAME + "-1")


def test_plan_records_everything_and_writes_nothing(rig: Rig, tree_snapshot: Any) -> None:
    _vmcore(rig)
    _old_dump(rig, "20230101T000000Z")
    before = tree_snapshot(rig.root)
    capture_dump(rig.plan_host, {"kdump": {"keep": 1}})
    assert tree_snapshot(rig.root) == before and rig.calls() == []
    actions = rig.plan_host.actions
    assert actions[0].startswith("run rm -rf --one-file-system -- ")
    assert any(a.startswith("run makedumpfile -c") for a in actions)
