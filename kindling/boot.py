"""The boot runner: every registered stage in boot order, one result line each (DESIGN §4).

Stages come from the entry-point group `kindling.boot_stages`; each service adds its
own, with an order number and dependencies that mirror its systemd unit's ordering.
Order bands (keep new stages inside them):

    10-19  local disks        (growpart; units Before=local-fs.target)
    20-29  network config     (netdog generate-net-config / apply; Before=network-pre)
    30-39  also drivers       (gpu link/load modules: after user data, for the flavour)
    30-39  user data          (early-boot-config; After=network-online, apiserver)
    40-49  generators         (hostname, node-ip, boot settings: sundog's place)
    50-59  appliers           (apply-settings: settings-applier's place)
    60-79  consumers          (kdump load, cfsignal, warm-pool wait, lifecycle)

A stage returns `ok(detail)` or `skipped(reason)`, or raises `KindlingError` to fail.
Any other exception (an `OSError` where a directory was expected, a bug) fails that
stage alone, as `failed: <one line>`: the other stages still run and the timeline is
still written, so one surprise never hides the rest of the boot.
A failed stage fails the stages that depend on it (`after`) — they are reported as
skipped with the reason — as systemd's `Requires=` would; independent stages still
run, so one broken driver config does not keep the node off the network.
Under `--plan` the Host records instead of acting, and each stage's recorded
actions are printed beneath its line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kindling import log
from kindling.errors import KindlingError, PlanBoundary, describe
from kindling.host import Host

__all__ = [
    "TIMELINE_PATH",
    "BootContext",
    "BootReport",
    "Stage",
    "StageResult",
    "load_stages",
    "ok",
    "order_stages",
    "run_boot",
    "skipped",
]

TIMELINE_PATH = "/run/kindling/timeline.json"
PLATFORMS = ("aws", "vmware", "metal")


@dataclass(frozen=True)
class StageResult:
    status: str  # "ok" | "skipped" | "failed" | "planned" (a plan stopped at a request or wait)
    detail: str = ""
    notes: tuple[str, ...] = ()  # lines printed under the stage (e.g. per changed key)


def ok(detail: str = "", *, notes: tuple[str, ...] = ()) -> StageResult:
    return StageResult("ok", detail, notes)


def skipped(reason: str) -> StageResult:
    return StageResult("skipped", reason)


@dataclass
class BootContext:
    """What a stage may use: the Host, the platform, a logger, and boot-wide options."""

    host: Host
    platform: str
    log: log.Logger
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """One boot step. `run` gets the context; `platforms=None` means every platform."""

    name: str
    order: int
    run: Callable[[BootContext], StageResult]
    after: tuple[str, ...] = ()
    platforms: tuple[str, ...] | None = None
    unit: str | None = None
    description: str = ""


@dataclass(frozen=True)
class StageRecord:
    name: str
    status: str
    detail: str
    start: float
    duration: float
    actions: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass
class BootReport:
    platform: str
    plan: bool
    started: float
    records: list[StageRecord]

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.records)

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "plan": self.plan,
            "started": self.started,
            "ok": self.ok,
            "stages": [
                {
                    "name": r.name,
                    "status": r.status,
                    "detail": r.detail,
                    "start_ms": round(r.start * 1000, 3),
                    "duration_ms": round(r.duration * 1000, 3),
                    "actions": list(r.actions),
                    "notes": list(r.notes),
                }
                for r in self.records
            ],
        }


def load_stages() -> list[Stage]:
    from kindling.registry import load

    return [s for s in load("kindling.boot_stages") if isinstance(s, Stage)]


def order_stages(stages: list[Stage]) -> list[Stage]:
    """Topological order by `after`, ties broken by (order, name); cycles are an error."""
    by_name = {s.name: s for s in stages}
    placed: list[Stage] = []
    done: set[str] = set()
    remaining = sorted(stages, key=lambda s: (s.order, s.name))
    while remaining:
        for stage in remaining:
            if all(dep in done or dep not in by_name for dep in stage.after):
                placed.append(stage)
                done.add(stage.name)
                remaining.remove(stage)
                break
        else:
            names = ", ".join(s.name for s in remaining)
            raise KindlingError(f"boot stages have a dependency cycle: {names}")
    return placed


def run_boot(
    host: Host,
    platform: str,
    *,
    stages: list[Stage] | None = None,
    options: dict[str, Any] | None = None,
    on_record: Callable[[StageRecord], None] | None = None,
    on_start: Callable[[Stage], None] | None = None,
) -> BootReport:
    """Run every stage for `platform`; write the timeline; never raise for a stage.

    The run holds the boot lock and keeps `/run/kindling/boot-state.json` current
    (kindling/boot_state.py), so `kindling status` tells running from done or failed."""
    from kindling.boot_state import boot_lock

    ordered = order_stages(stages if stages is not None else load_stages())
    with boot_lock(host):
        return _run_locked(host, platform, ordered, options, on_record, on_start)


def _run_locked(
    host: Host,
    platform: str,
    ordered: list[Stage],
    options: dict[str, Any] | None,
    on_record: Callable[[StageRecord], None] | None,
    on_start: Callable[[Stage], None] | None,
) -> BootReport:
    ctx = BootContext(host, platform, log.get("boot"), dict(options or {}))
    report = BootReport(platform, host.recording, time.time(), [])
    state: dict[str, Any] = {"state": "running", "pid": os.getpid(), "platform": platform,
                             "started": round(report.started, 3)}
    _note_state(host, state)
    try:
        _run_stages(ctx, ordered, report, state, on_record, on_start)
        write_timeline(host, report)
    except BaseException as exc:  # the end is recorded however the run ends, then it goes on
        _note_state(host, {**state, "state": "failed", "finished": round(time.time(), 3),
                           "failed": [r.name for r in report.records if r.status == "failed"],
                           "error": f"boot runner: {describe(exc)}"})
        raise
    state.pop("stage", None)
    state.pop("stage_started", None)
    _note_state(host, {**state, "state": "done" if report.ok else "failed",
                       "finished": round(time.time(), 3),
                       "failed": [r.name for r in report.records if r.status == "failed"]})
    return report


def _run_stages(
    ctx: BootContext,
    ordered: list[Stage],
    report: BootReport,
    state: dict[str, Any],
    on_record: Callable[[StageRecord], None] | None,
    on_start: Callable[[Stage], None] | None,
) -> None:
    host, platform = ctx.host, ctx.platform
    t0 = time.perf_counter()
    failed: dict[str, str] = {}
    ctx.options["failed_stages"] = failed  # live view: late stages (cfsignal) judge the run so far
    for stage in ordered:
        if stage.platforms is not None and platform not in stage.platforms:
            continue
        blocked = [d for d in stage.after if d in failed]
        if not blocked:
            _note_state(host, {**state, "stage": stage.name, "stage_started": round(time.time(), 3)})
        start = time.perf_counter()
        mark = len(host.actions)
        if blocked:
            result = skipped(f"{blocked[0]} failed")
            failed[stage.name] = result.detail
        else:
            ctx.log = log.get(stage.name)
            if on_start is not None:
                on_start(stage)
            try:
                result = stage.run(ctx)
            except PlanBoundary as stop:
                # a plan stops a stage at its first request or wait; what it would do
                # up to there is in the actions, then that step and what would follow
                host.actions.extend([stop.what, *stop.then])
                result = StageResult("planned", f"stops before: {stop.what}")
            except Exception as exc:
                result = StageResult("failed", describe(exc))
                failed[stage.name] = result.detail
        record = StageRecord(
            stage.name,
            result.status,
            result.detail,
            start - t0,
            time.perf_counter() - start,
            tuple(host.actions[mark:]),
            result.notes,
        )
        report.records.append(record)
        if on_record is not None:
            on_record(record)


def _note_state(host: Host, state: dict[str, Any]) -> None:
    """Record the boot's state; a state file that cannot be written costs a warning,
    never the boot (the stages matter more than the report about them)."""
    from kindling.boot_state import STATE_PATH, write_state

    try:
        write_state(host, state)
    except KindlingError as exc:
        log.get("boot").warning(f"{STATE_PATH}: boot state not recorded: {exc}")


def write_timeline(host: Host, report: BootReport) -> None:
    """Write the run's timeline through the Host (a plan records it, writes nothing)."""
    host.makedirs("/run/kindling", mode=0o755)
    host.write_file(TIMELINE_PATH, json.dumps(report.to_json(), indent=2) + "\n", mode=0o644)


def format_record(record: StageRecord) -> str:
    """`early-boot-config  ok  12.3 ms  (3 providers)` — one line per stage."""
    status = record.status if not record.detail else f"{record.status}: {record.detail}"
    if record.status == "ok" and record.detail:
        status = f"ok ({record.detail})"
    return f"{record.name:<24} {status}  [{record.duration * 1000:.1f} ms]"
