"""The boot's apply-settings runs only the appliers no commit of this boot already applied
to the settings as they are now (kindling/appliers.py `run_unapplied`); one that failed or
whose keys changed since runs again, the report accounts for every applier, and the files,
the fingerprint and the plan are those of a boot that runs them all."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kindling.appliers as appliers_module
from kindling.appliers import ALREADY, Applier, Pending, collect_in_flight, run_appliers, run_unapplied
from kindling.boot import UNCHANGED, BootContext, Stage, StageResult, load_stages, run_boot
from kindling.boot_fingerprint import STATE_PATH
from kindling.errors import SettingsError
from kindling.host import Host, RecordingHost

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def in_boot(host: Host) -> Iterator[Host]:
    """The Host as the boot runner sets it while a stage runs."""
    host.in_flight, host.applied, host.seen, host.replay = {}, {}, set(), []
    yield host
    if host.in_flight:
        collect_in_flight(host)


def _counted(name: str, calls: list[str], fail: list[bool] | None = None) -> Applier:
    """Writes /etc/<name> from settings.<name> (and a live value), counting its runs."""

    def apply(host: Host, settings: dict[str, Any]) -> list[str]:
        calls.append(name)
        if fail and fail[0]:
            raise SettingsError(f"settings.{name}", "refused")
        host.write_file(f"/etc/{name}", json.dumps(settings.get(name)))
        host.write_in_place(f"/proc/sys/{name}", str(settings.get(name)))
        return [f"wrote /etc/{name}"]

    return Applier(name=name, prefixes=(name,), apply=apply)


@pytest.fixture
def proc(root: Path) -> Path:
    (root / "proc/sys").mkdir(parents=True)
    for name in "abc":
        (root / "proc/sys" / name).write_text("")
    return root / "proc/sys"


def test_what_a_commit_applied_is_not_run_again_but_reported(in_boot: Host, proc: Path) -> None:
    calls: list[str] = []
    everyone = [_counted("a", calls), _counted("b", calls), _counted("c", calls)]
    settings = {"a": 1, "b": 2, "c": 3}
    run_appliers(in_boot, settings, ["settings.a", "settings.b"], everyone)
    assert calls == ["a", "b"]
    outcomes, already = run_unapplied(in_boot, settings, everyone)
    assert calls == ["a", "b", "c"]
    assert already == 2
    assert [(o.name, o.ok, o.detail) for o in outcomes] == [
        ("a", True, ALREADY), ("b", True, ALREADY), ("c", True, "wrote /etc/c")]


def test_an_applier_whose_keys_changed_since_its_run_runs_again(in_boot: Host, proc: Path, root: Path) -> None:
    calls: list[str] = []
    everyone = [_counted("a", calls), _counted("b", calls)]
    run_appliers(in_boot, {"a": 1, "b": 2}, None, everyone)
    # a later commit changed settings.a without applying it (or another key under it)
    outcomes, already = run_unapplied(in_boot, {"a": {"x": 5}, "b": 2, "other": 1}, everyone)
    assert calls == ["a", "b", "a"]
    assert already == 1
    assert [(o.name, o.detail) for o in outcomes] == [("a", "wrote /etc/a"), ("b", ALREADY)]
    assert (root / "etc/a").read_text() == '{"x": 5}'


def test_an_applier_rerun_by_a_later_commit_is_judged_by_that_run(in_boot: Host, proc: Path) -> None:
    calls: list[str] = []
    everyone = [_counted("a", calls)]
    run_appliers(in_boot, {"a": 1}, None, everyone)
    run_appliers(in_boot, {"a": 2}, ["settings.a"], everyone)
    assert run_unapplied(in_boot, {"a": 2}, everyone)[1] == 1
    assert run_unapplied(in_boot, {"a": 1}, everyone)[1] == 0  # not the first run's settings
    assert calls == ["a", "a", "a"]


def test_an_applier_that_failed_runs_again(in_boot: Host, proc: Path) -> None:
    calls: list[str] = []
    fail = [True]
    everyone = [_counted("a", calls, fail), _counted("b", calls)]
    first = run_appliers(in_boot, {"a": 1, "b": 2}, None, everyone)
    assert [o.ok for o in first] == [False, True]
    fail[0] = False
    outcomes, already = run_unapplied(in_boot, {"a": 1, "b": 2}, everyone)
    assert calls == ["a", "b", "a"]
    assert (already, [(o.name, o.ok) for o in outcomes]) == (1, [("a", True), ("b", True)])


def test_one_that_failed_after_an_earlier_success_runs_again(in_boot: Host, proc: Path) -> None:
    calls: list[str] = []
    fail = [False]
    everyone = [_counted("a", calls, fail)]
    run_appliers(in_boot, {"a": 1}, None, everyone)
    fail[0] = True
    run_appliers(in_boot, {"a": 1}, ["settings.a"], everyone)  # its earlier success no longer counts
    outcomes, already = run_unapplied(in_boot, {"a": 1}, everyone)
    assert calls == ["a", "a", "a"]
    assert (already, outcomes[0].ok) == (0, False)


def _overlapping(calls: list[str], script: str) -> Applier:
    def apply(h: Host, settings: dict[str, Any]) -> Pending:
        calls.append("slow")
        started = h.start(["sh", "-c", script], timeout=10)
        return Pending(["wrote anchors"], lambda: [started.wait().text.strip()], "sh")

    return Applier(name="m-slow", prefixes=("slow",), apply=apply, overlaps=True)


def test_a_program_left_running_is_collected_and_trusted_only_when_it_succeeded(in_boot: Host) -> None:
    calls: list[str] = []
    good = _overlapping(calls, "echo rebuilt")
    run_appliers(in_boot, {}, None, [good])
    assert list(in_boot.in_flight or {}) == ["m-slow"]
    outcomes, already = run_unapplied(in_boot, {}, [good])
    assert calls == ["slow"] and already == 1
    assert [(o.ok, o.detail) for o in outcomes] == [(True, f"{ALREADY}; rebuilt")]
    assert in_boot.in_flight == {}

    failing = _overlapping(calls, "echo cannot rebuild >&2; exit 3")
    run_appliers(in_boot, {}, None, [failing])
    outcomes, already = run_unapplied(in_boot, {}, [failing])
    assert calls == ["slow", "slow", "slow"]  # it ran again, its earlier failure stays reported
    assert already == 0
    assert not outcomes[0].ok and "exited 3: cannot rebuild" in outcomes[0].detail
    collect_in_flight(in_boot)


def test_what_a_skipped_applier_resolved_and_replays_counts_for_the_stage(in_boot: Host, proc: Path) -> None:
    calls: list[str] = []
    everyone = [_counted("a", calls)]
    run_appliers(in_boot, {"a": 1}, None, everyone)
    in_boot.seen, in_boot.replay = set(), []  # the next stage
    run_unapplied(in_boot, {"a": 1}, everyone)
    assert calls == ["a"]
    assert {"/etc/a", "/proc/sys/a"} <= (in_boot.seen or set())
    assert in_boot.replay == [("live", "/proc/sys/a", b"1", 0)]


def test_outside_a_boot_every_applier_runs(host: Host, proc: Path) -> None:
    calls: list[str] = []
    everyone = [_counted("a", calls)]
    run_appliers(host, {"a": 1}, None, everyone)
    assert run_unapplied(host, {"a": 1}, everyone)[1] == 0
    assert calls == ["a", "a"]


# -- the demo node's first boot ------------------------------------------------------------

def _stages(memo: bool = True) -> list[Stage]:
    """The registered stages but the one that waits for a real address; without `memo`
    apply-settings runs every applier, as before `host.applied`."""
    stages = [s for s in load_stages() if s.name != "write-network-status"]
    if memo:
        return stages

    def without(stage: Stage) -> Stage:
        def run(ctx: BootContext) -> StageResult:
            ctx.host.applied = None
            return stage.run(ctx)

        return Stage(stage.name, stage.order, run, after=stage.after, platforms=stage.platforms,
                     per_boot=stage.per_boot, precondition=stage.precondition)

    return [without(s) if s.name == "apply-settings" else s for s in stages]


def _demo(tmp_path: Path, name: str) -> tuple[Host, Path]:
    root = tmp_path / name
    shutil.copytree(REPO / "demo/root", root, symlinks=True)
    return Host(root, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}), root


def _files(root: Path) -> dict[str, bytes]:
    """Every file the boot leaves, less those that hold times or its own report (the
    marker, the boot state, the timeline) and the datastore's pages."""
    volatile = ("run/kindling/", "var/lib/kindling/boot-state.json", "var/lib/kindling/datastore.sqlite3",
                "var/lib/kindling/early-boot-config.ran")
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and not str(p.relative_to(root)).startswith(volatile)}


class Runs:
    """(stage, applier) for every applier run of a boot, through the real registry."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[tuple[str, str]] = []
        self.stage = ""
        real_load = appliers_module.load_appliers

        def load(host: Host | None = None) -> list[Applier]:
            return [self.counted(a) for a in real_load(host)]

        monkeypatch.setattr(appliers_module, "load_appliers", load)

    def counted(self, a: Applier) -> Applier:
        def apply(h: Host, settings: dict[str, Any]) -> list[str] | Pending:
            self.runs.append((self.stage, a.name))
            return a.apply(h, settings)

        return Applier(a.name, a.prefixes, apply, a.check, a.outputs, a.overlaps)

    def on_start(self, stage: Stage) -> None:
        self.stage = stage.name


def test_the_demo_first_boot_skips_what_its_commits_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    counted = Runs(monkeypatch)
    host, _root = _demo(tmp_path, "memo")
    report = run_boot(host, "metal", stages=_stages(), on_start=counted.on_start)
    assert report.ok
    before = {a for s, a in counted.runs if s != "apply-settings"}
    in_apply = [a for s, a in counted.runs if s == "apply-settings"]
    assert {"kubelet", "motd", "sysctl", "hostname", "bootconfig"} <= before
    everyone = {a.name for a in appliers_module.load_appliers(host)}
    assert sorted(in_apply) == sorted(everyone - before)  # each of the others once
    apply_settings = next(r for r in report.records if r.name == "apply-settings")
    assert apply_settings.detail == f"{len(everyone)} appliers ({len(before)} already applied in this boot)"


def test_the_demo_first_boot_leaves_what_a_boot_running_every_applier_leaves(tmp_path: Path) -> None:
    memo_host, memo_root = _demo(tmp_path, "memo")
    full_host, full_root = _demo(tmp_path, "full")
    memo = {r.name: (r.status, r.detail) for r in run_boot(memo_host, "metal", stages=_stages()).records}
    full = {r.name: (r.status, r.detail) for r in run_boot(full_host, "metal", stages=_stages(memo=False)).records}
    assert "already applied" in memo["apply-settings"][1] and "already" not in full["apply-settings"][1]
    assert {n: s for n, (s, _d) in memo.items()} == {n: s for n, (s, _d) in full.items()}
    assert _files(memo_root) == _files(full_root)
    # and running every applier again afterwards changes nothing
    before = _files(memo_root)
    from kindling.api.service import SettingsService

    outcomes = SettingsService(memo_host).apply(None)
    assert all(o.ok for o in outcomes)
    assert _files(memo_root) == before


def test_after_the_skipping_first_boot_a_later_boot_skips_and_replays_and_follows_changes(tmp_path: Path) -> None:
    host, root = _demo(tmp_path, "memo")
    run_boot(host, "metal", stages=_stages())
    state = json.loads((root / STATE_PATH.lstrip("/")).read_text())["stages"]["apply-settings"]
    # the skipped appliers' inputs and outputs are apply-settings' inputs, as if they ran
    assert {"/etc/motd", "/etc/hostname"} <= set(state["paths"])
    swappiness = root / "proc/sys/vm/swappiness"
    want = swappiness.read_text()
    # a reboot: /run empty, the live values back to the kernel's
    shutil.rmtree(root / "run")
    (root / "run").mkdir()
    swappiness.write_text("60\n")
    later = {r.name: (r.status, r.detail) for r in run_boot(host, "metal", stages=_stages()).records}
    assert later["apply-settings"] == ("skipped", UNCHANGED)
    assert swappiness.read_text() == want  # its per-boot effect replayed
    # an output of an applier apply-settings skipped on the first boot, edited: rewritten
    motd = root / "etc/motd"
    text = motd.read_text()
    motd.write_text("edited\n")
    later = {r.name: (r.status, r.detail) for r in run_boot(host, "metal", stages=_stages()).records}
    assert later["apply-settings"][0] == "ok"
    assert motd.read_text() == text


def test_the_plan_predicts_the_skip(tmp_path: Path) -> None:
    host, root = _demo(tmp_path, "memo")
    plan = {r.name: r.detail for r in run_boot(RecordingHost(root, env=dict(host.env)), "metal",
                                               stages=_stages()).records}
    real = {r.name: r.detail for r in run_boot(host, "metal", stages=_stages()).records}
    assert real["apply-settings"].replace("already applied", "would be skipped: applied earlier") == \
        plan["apply-settings"]
