"""The boot runner: order, dependencies, failure isolation, plan, timeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kindling.boot import BootContext, Stage, StageResult, ok, order_stages, run_boot, skipped
from kindling.errors import KindlingError
from kindling.host import Host, RecordingHost


def stage(name: str, order: int, result: StageResult | Exception, after: tuple[str, ...] = (),
          platforms: tuple[str, ...] | None = None, write: str | None = None) -> Stage:
    def run(ctx: BootContext) -> StageResult:
        if write:
            ctx.host.write_file(write, name)
        if isinstance(result, Exception):
            raise result
        return result

    return Stage(name, order, run, after=after, platforms=platforms)


def test_order_respects_dependencies_then_order_number() -> None:
    stages = [stage("c", 10, ok(), after=("b",)), stage("a", 30, ok()), stage("b", 20, ok())]
    assert [s.name for s in order_stages(stages)] == ["b", "c", "a"]


def test_cycles_are_reported() -> None:
    with pytest.raises(KindlingError, match="cycle"):
        order_stages([stage("a", 1, ok(), after=("b",)), stage("b", 2, ok(), after=("a",))])


def test_failure_skips_dependents_but_not_others(host: Host, root: Path) -> None:
    stages = [
        stage("disk", 10, ok("grown")),
        stage("user-data", 30, KindlingError("imds: settings.motd: expected a string")),
        stage("apply", 50, ok(), after=("user-data",)),
        stage("gpu", 25, skipped("no devices")),
        stage("aws-only", 70, ok(), platforms=("aws",)),
    ]
    report = run_boot(host, "metal", stages=stages)
    got = [(r.name, r.status, r.detail) for r in report.records]
    assert got == [
        ("disk", "ok", "grown"),
        ("gpu", "skipped", "no devices"),
        ("user-data", "failed", "imds: settings.motd: expected a string"),
        ("apply", "skipped", "user-data failed"),
    ]
    assert not report.ok
    timeline = json.loads((root / "run/kindling/timeline.json").read_text())
    assert [s["status"] for s in timeline["stages"]] == ["ok", "skipped", "failed", "skipped"]
    assert all(s["duration_ms"] >= 0 for s in timeline["stages"])


def test_a_returned_failure_counts_as_a_raised_one(host: Host) -> None:
    """A stage may judge its own outcome (kdump-load: enabled but not armable): late
    stages (cfsignal) see it among the failed stages, and its dependents are skipped."""
    seen: dict[str, str] = {}

    def judge(ctx: BootContext) -> StageResult:
        seen.update(ctx.options["failed_stages"])
        return ok()

    stages = [stage("kdump", 10, StageResult("failed", "cannot arm")),
              stage("after-kdump", 20, ok(), after=("kdump",)),
              Stage(name="verdict", order=30, run=judge)]
    report = run_boot(host, "metal", stages=stages)
    assert [(r.name, r.status, r.detail) for r in report.records] == [
        ("kdump", "failed", "cannot arm"), ("after-kdump", "skipped", "kdump failed"),
        ("verdict", "ok", "")]
    assert seen == {"kdump": "cannot arm", "after-kdump": "kdump failed"} and not report.ok


def test_plan_records_each_stages_actions_and_writes_nothing(plan_host: RecordingHost, root: Path) -> None:
    stages = [stage("one", 10, ok(), write="/etc/one"), stage("two", 20, ok(), write="/etc/two")]
    report = run_boot(plan_host, "metal", stages=stages)
    assert [r.actions for r in report.records] == [
        ("write /etc/one (3 bytes, mode 0644)",), ("write /etc/two (3 bytes, mode 0644)",)]
    assert list(root.iterdir()) == []


def test_registered_stages_include_apply_settings() -> None:
    from kindling.boot import load_stages

    assert "apply-settings" in {s.name for s in load_stages()}


def test_a_slow_stage_says_it_started_a_quick_one_does_not(tmp_path: Path) -> None:
    """On a terminal `kindling boot` prints a stage's line when it starts if the stage
    runs past the threshold (1 s in use), so a person sees what it waits on."""
    import io
    import time as _time

    from kindling.boot import Stage, ok, run_boot
    from kindling.boot_cli import SlowStageNotice
    from kindling.host import RecordingHost

    out = io.StringIO()
    notice = SlowStageNotice(out, after=0.05)

    def slow(_ctx: object) -> object:
        _time.sleep(0.3)
        return ok()

    stages = [Stage("quick-one", 1, lambda _ctx: ok()),
              Stage("slow-one", 2, slow, description="wait for a lease")]
    run_boot(RecordingHost(tmp_path), "metal", stages=stages, on_start=notice.start,
             on_record=lambda _r: notice.done())
    assert out.getvalue().splitlines() == ["slow-one                 running… (wait for a lease)"]


def _starting(name: str, order: int, script: str, after: tuple[str, ...] = ()) -> Stage:
    """A stage whose commit runs an overlapping applier (as early-boot-config's pki)."""
    from kindling.appliers import Applier, Pending, run_appliers

    def apply(h: Host, settings: dict[str, object]) -> Pending:
        started = h.start(["sh", "-c", script], timeout=10)
        return Pending(["wrote anchors"], lambda: [started.wait().text.strip()], "sh")

    applier = Applier(name="m-slow", prefixes=("slow",), apply=apply, overlaps=True)

    def run(ctx: BootContext) -> StageResult:
        outcomes = run_appliers(ctx.host, {}, None, [applier])
        return ok("; ".join(o.detail for o in outcomes))

    return Stage(name, order, run, after=after)


def test_a_program_left_running_that_fails_fails_the_stage_that_started_it(host: Host, root: Path) -> None:
    gate = root / "gate"
    stages = [
        _starting("user-data", 30, f"while [ ! -e {gate} ]; do sleep 0.01; done; echo no store >&2; exit 2"),
        stage("later", 40, ok("ran meanwhile"), write="/gate"),
    ]
    seen: list[tuple[str, str]] = []
    report = run_boot(host, "metal", stages=stages, on_record=lambda r: seen.append((r.name, r.status)))
    # the program waited for a file the later stage wrote: it ran across the stages
    assert [(r.name, r.status) for r in report.records] == [("user-data", "failed"), ("later", "ok")]
    assert report.records[0].detail.startswith("wrote anchors; sh left running")
    assert "; m-slow: " in report.records[0].detail and "exited 2: no store" in report.records[0].detail
    assert seen == [("user-data", "ok"), ("later", "ok"), ("user-data", "failed")]  # reported again, as failed
    assert not report.ok
    assert host.in_flight is None
    state = json.loads((root / "var/lib/kindling/boot-state.json").read_text())
    assert "user-data" not in state["stages"] and "later" in state["stages"]  # the next boot reruns it


def test_a_program_left_running_that_succeeds_changes_no_verdict(host: Host, root: Path) -> None:
    report = run_boot(host, "metal", stages=[_starting("user-data", 30, "echo rebuilt"), stage("later", 40, ok())])
    assert [(r.name, r.status) for r in report.records] == [("user-data", "ok"), ("later", "ok")]
    assert "sh left running" in report.records[0].detail
    assert report.ok and host.in_flight is None


def test_a_runner_crash_still_collects_a_program_left_running(host: Host, root: Path) -> None:
    done = root / "collected"

    def boom(record: object) -> None:
        raise RuntimeError("on_record bug")

    with pytest.raises(RuntimeError, match="on_record bug"):
        run_boot(host, "metal", stages=[_starting("user-data", 30, f"sleep 0.2; touch {done}")], on_record=boom)
    assert done.exists()  # waited for before the error went on
    assert host.in_flight is None


def test_the_progress_file_is_written_when_a_stage_runs_and_at_the_end(host: Host) -> None:
    """No separate "boot started" write: the first stage that runs writes the running
    state with its name; skipped stages write nothing; the end is written (kindling/boot_progress.py)."""
    from kindling.boot_progress import PROGRESS_PATH

    seen: list[dict[str, object]] = []

    def reads(name: str) -> Callable[[BootContext], StageResult]:
        def run(ctx: BootContext) -> StageResult:
            seen.append(json.loads(ctx.host.read_text(PROGRESS_PATH)))
            return ok(name)
        return run

    writes: list[str] = []
    real = host.write_file

    def counting(p: str, data: str | bytes, *, mode: int = 0o644) -> bool:
        if p == PROGRESS_PATH:
            writes.append(json.loads(data)["state"])
        return real(p, data, mode=mode)

    host.write_file = counting  # type: ignore[method-assign]
    stages = [Stage("a", 10, reads("a")), Stage("b", 20, reads("b"), precondition=lambda ctx: "nothing to do"),
              Stage("c", 30, reads("c"))]
    report = run_boot(host, "metal", stages=stages)
    assert [r.status for r in report.records] == ["ok", "skipped", "ok"]
    assert [(s["state"], s["stage"]) for s in seen] == [("running", "a"), ("running", "c")]
    assert writes == ["running", "running", "done"]


@pytest.mark.parametrize("collecting", [True, False], ids=["gc-on", "gc-off"])
def test_kindling_boot_runs_without_the_cyclic_gc_and_leaves_it_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collecting: bool) -> None:
    """The collector is off while `kindling boot` runs (kindling/boot_cli.py `main`), and
    as it was afterwards; what the boot made is old, not young, by then."""
    import gc

    from kindling import boot, boot_cli

    during: list[bool] = []
    real = boot.run_boot

    def watched(host: Host, platform: str, **kw: object) -> boot.BootReport:
        during.append(gc.isenabled())
        return real(host, platform, stages=[Stage("a", 10, lambda ctx: ok("a"))])

    monkeypatch.setattr(boot, "run_boot", watched)
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        code = boot_cli.main(["--root", str(tmp_path), "--platform", "metal"])
        after = gc.isenabled()
        young = gc.get_count()[0]
    finally:
        (gc.enable if was else gc.disable)()
    assert code == 0
    assert during == [False]
    assert after is collecting
    assert young < 100  # not the boot's thousands of objects left for the next pass to walk


def test_directories_are_resolved_once_only_while_the_boot_runs(host: Host) -> None:
    """`Host.resolved` (kindling/host.py `path`) is the runner's: on while stages run, off after."""
    during: list[object] = []

    def look(ctx: BootContext) -> StageResult:
        ctx.host.path("/etc/motd")
        during.append(dict(ctx.host.resolved or {}))
        return ok()

    host.path("/etc").mkdir()
    run_boot(host, "metal", stages=[Stage("a", 10, look)])
    assert [d.get("/etc") for d in during] == [str(host.root / "etc")]  # (with the runner's own /run ones)
    assert host.resolved is None
