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

A stage returns `ok(detail)` or `skipped(reason)`, or raises `KindlingError` to fail
(a stage may also return a `failed` result with its reason: it counts the same).
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

import time

from kindling import jsonio, log
from kindling.errors import KindlingError, PlanBoundary, describe

TYPE_CHECKING = False  # typing itself costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from kindling.boot_fingerprint import BootState
    from kindling.host import Host
    from kindling.registry import EntryPoint

__all__ = [
    "STAGES_PATH",
    "TIMELINE_PATH",
    "BootContext",
    "BootReport",
    "Stage",
    "StageResult",
    "load_stages",
    "ok",
    "order_stages",
    "registered_stages",
    "run_boot",
    "skipped",
]

TIMELINE_PATH = "/run/kindling/timeline.json"
PLATFORMS = ("aws", "vmware", "metal")
UNCHANGED = "inputs unchanged since the last boot"

# Plain slotted classes, not dataclasses: every boot builds them, and generating
# dataclass methods with exec() cost more than the stages themselves (bench/RESULTS.md).


class StageResult:
    __slots__ = ("detail", "notes", "status")

    def __init__(self, status: str, detail: str = "", notes: tuple[str, ...] = ()) -> None:
        self.status = status  # "ok" | "skipped" | "failed" | "planned" (a plan stopped at a request or wait)
        self.detail = detail
        self.notes = notes  # lines printed under the stage (e.g. per changed key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StageResult) and (self.status, self.detail, self.notes) == (
            other.status, other.detail, other.notes)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StageResult({self.status!r}, {self.detail!r}, {self.notes!r})"


def ok(detail: str = "", *, notes: tuple[str, ...] = ()) -> StageResult:
    return StageResult("ok", detail, notes)


def skipped(reason: str) -> StageResult:
    return StageResult("skipped", reason)


class BootContext:
    """What a stage may use: the Host, the platform, a logger, and boot-wide options."""

    __slots__ = ("host", "log", "options", "platform", "settings_source")

    def __init__(self, host: Host, platform: str, log: log.Logger, options: dict[str, Any] | None = None) -> None:
        self.host = host
        self.platform = platform
        self.log = log
        self.options: dict[str, Any] = {} if options is None else options
        self.settings_source: Callable[[tuple[str, ...]], dict[str, Any]] | None = None

    def settings(self, *prefixes: str) -> dict[str, Any]:
        """The live settings under `prefixes` (`"settings.kdump"`, …), as SettingsService's
        `get_settings(keys=…)` gives them. Within `kindling boot`, a later boot whose
        datastore is byte for byte as the last boot left it gets the copy the boot state
        keeps instead of opening SQLite (kindling/boot_fingerprint.py `BootState.settings`)."""
        if self.settings_source is not None:
            return self.settings_source(prefixes)
        from kindling.api.service import SettingsService

        return SettingsService(self.host).get_settings(keys=list(prefixes))


class Stage:
    """One boot step. `run` gets the context; `platforms=None` means every platform.

    `per_boot`: the stage acts on the running kernel or on devices (crash kernel,
    modules, addresses, disk growth), so it runs on every boot; every other stage is
    skipped on a boot where nothing it read changed (kindling/boot_fingerprint.py).
    `outputs`: the files it may write (absolute, `fnmatch` patterns allowed), as appliers
    declare theirs: what `kindling support-bundle` collects.
    `precondition`: the stage's own first check, as its unit's `Condition…=` (a marker
    that exists, a setting already there): a reason to skip it, or None to go on. The
    runner asks it before the fingerprint, so a stage whose inputs a later stage changed
    on the first boot is not rerun on the next just to find that again. It only reads;
    `run` makes the same check (a stage may be run alone).
    """

    __slots__ = ("after", "description", "name", "order", "outputs", "per_boot", "platforms", "precondition", "run",
                 "unit")

    def __init__(
        self,
        name: str,
        order: int,
        run: Callable[[BootContext], StageResult],
        after: tuple[str, ...] = (),
        platforms: tuple[str, ...] | None = None,
        unit: str | None = None,
        description: str = "",
        per_boot: bool = False,
        outputs: tuple[str, ...] = (),
        precondition: Callable[[BootContext], str | None] | None = None,
    ) -> None:
        self.name = name
        self.order = order
        self.run = run
        self.after = after
        self.platforms = platforms
        self.unit = unit
        self.description = description
        self.per_boot = per_boot
        self.outputs = outputs
        self.precondition = precondition

    def __repr__(self) -> str:
        return f"Stage({self.name!r}, order={self.order})"


class StageRecord:
    __slots__ = ("actions", "detail", "duration", "name", "notes", "start", "status")

    def __init__(self, name: str, status: str, detail: str, start: float, duration: float,
                 actions: tuple[str, ...], notes: tuple[str, ...] = ()) -> None:
        self.name = name
        self.status = status
        self.detail = detail
        self.start = start
        self.duration = duration
        self.actions = actions
        self.notes = notes


class BootReport:
    __slots__ = ("plan", "platform", "records", "started")

    def __init__(self, platform: str, plan: bool, started: float, records: list[StageRecord]) -> None:
        self.platform = platform
        self.plan = plan
        self.started = started
        self.records = records

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


# -- the registered stages, kept for a later boot ------------------------------------
# A later boot runs a few stages and skips the rest; the registry's scan and importing
# every stage's module cost ~1 ms of it. So the stages' declarations (all but `run` and
# `precondition`) are kept here with the registry's scan (kindling/registry.py
# `snapshot`) and a stamp of each stage's module file: while none of those changed, the
# stages are built from it, and a stage's module is imported when the stage runs or
# is asked its precondition. A stage skipped as unchanged, or for another platform,
# is never imported. Anything else (a distribution installed or removed, an entry point
# or a stage's code changed, the file unreadable) loads them from the registry again.
STAGES_PATH = "/var/lib/kindling/boot-stages.json"
_FIELDS = ("name", "order", "after", "platforms", "unit", "description", "per_boot", "outputs")


class _Deferred:
    """A stage's `run` or `precondition`, imported on its first call."""

    __slots__ = ("attr", "ep", "name")

    def __init__(self, ep: EntryPoint, name: str, attr: str) -> None:
        self.ep = ep
        self.name = name
        self.attr = attr

    def __call__(self, ctx: BootContext) -> Any:
        stage = self.ep.load()
        if not isinstance(stage, Stage) or stage.name != self.name:
            raise KindlingError(f"entry point {self.ep.group}/{self.ep.name}: no longer the stage {self.name}")
        call = getattr(stage, self.attr)
        return None if call is None else call(ctx)


def registered_stages(host: Host) -> list[Stage]:
    """The registered stages: from `STAGES_PATH` while it still holds, else from the
    registry (then kept there for the next boot; a plan writes nothing)."""
    import os

    from kindling import __version__, registry

    try:
        table = jsonio.loads(host.read_bytes(STAGES_PATH, limit=1 << 20))
        kept = _from_table(table, __version__)
    except (KindlingError, ValueError, TypeError, KeyError, AttributeError):  # not a table: load them
        kept = None
    if kept is not None and registry.restore(table["registry"]):
        return kept
    before = registry.path_stamps()  # before the scan: a change meanwhile is a change
    loaded = [(ep, ep.load()) for ep in registry.entry_points("kindling.boot_stages")]
    stages = [s for _ep, s in loaded if isinstance(s, Stage)]
    if host.recording:
        return stages
    import sys

    rows = []
    for ep, stage in loaded:
        module = sys.modules.get(ep.value.partition(":")[0].strip())
        where = getattr(module, "__file__", None)
        if not isinstance(stage, Stage) or not isinstance(where, str):
            return stages  # an entry point that is no stage, or no file to stamp: nothing kept
        rows.append({**{f: getattr(stage, f) for f in _FIELDS}, "precondition": stage.precondition is not None,
                     "entry_point": ep.name, "file": where, "stamp": registry.stamp(where)})
    now = time.time_ns()
    snap = registry.snapshot(before, now)
    if snap is None or not registry.settled([str(row["stamp"]) for row in rows], now):
        return stages  # just installed or edited: the next boot keeps them
    doc = {"version": __version__, "registry": snap, "stages": rows}
    try:
        host.makedirs(os.path.dirname(STAGES_PATH), mode=0o755)
        host.write_file(STAGES_PATH, jsonio.dumps(doc, separators=(",", ":")) + "\n", mode=0o644)
    except KindlingError as exc:  # the next boot loads the registry again: never this boot's failure
        log.get("boot").warning(f"{STAGES_PATH}: not kept: {exc}")
    return stages


def _from_table(table: Any, version: str) -> list[Stage] | None:
    """The stages `table` declares, when it is for this Kindling and every stage's module
    file is as it was; None otherwise."""
    from kindling.registry import EntryPoint, stamp

    if table.get("version") != version:
        return None
    eps = {n: EntryPoint(str(g), str(n), str(v), str(d)) for g, n, v, d in table["registry"]["entry_points"]
           if g == "kindling.boot_stages"}
    stages = []
    for row in table["stages"]:
        ep = eps.get(row["entry_point"])
        if ep is None or stamp(str(row["file"])) != row["stamp"]:
            return None
        name = str(row["name"])
        platforms = row["platforms"]
        stages.append(Stage(
            name, int(row["order"]), _Deferred(ep, name, "run"),
            after=tuple(str(a) for a in row["after"]),
            platforms=None if platforms is None else tuple(str(p) for p in platforms),
            unit=None if row["unit"] is None else str(row["unit"]),
            description=str(row["description"]), per_boot=bool(row["per_boot"]),
            outputs=tuple(str(o) for o in row["outputs"]),
            precondition=_Deferred(ep, name, "precondition") if row["precondition"] else None))
    if len(eps) != len(stages):  # an entry point that is no stage (or a stage twice): load them
        return None
    return stages


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
    full: bool = False,
    on_start: Callable[[Stage], None] | None = None,
) -> BootReport:
    """Run every stage for `platform`; write the timeline; never raise for a stage.

    A stage whose inputs are as it left them on the last boot is skipped and its
    per-boot effects replayed (kindling/boot_fingerprint.py); `full=True` runs all.
    The run holds the boot lock and keeps `/run/kindling/boot-progress.json` current
    (kindling/boot_progress.py), so `kindling status` tells running from done or failed."""
    from kindling.boot_progress import boot_lock

    with boot_lock(host):
        return _run_locked(host, platform, stages, options, on_record, on_start, full)


def _run_locked(
    host: Host,
    platform: str,
    stages: list[Stage] | None,
    options: dict[str, Any] | None,
    on_record: Callable[[StageRecord], None] | None,
    on_start: Callable[[Stage], None] | None,
    full: bool,
) -> BootReport:
    import os

    ctx = BootContext(host, platform, log.get("boot"), dict(options or {}))
    report = BootReport(platform, host.recording, time.time(), [])
    progress: dict[str, Any] = {"state": "running", "pid": os.getpid(), "platform": platform,
                                "started": round(report.started, 3)}
    # no "running" note yet: the first stage that runs (or replay that writes) writes it
    # with its own name, one write fewer; until then the lock alone says a boot runs
    host.in_flight = {}  # appliers' programs may run on across stages (kindling/appliers.py)
    host.applied = {}  # what each applier last did in this boot: apply-settings skips it while it holds
    host.resolved = {}  # each directory resolved once while nothing acts (kindling/host.py `path`)
    try:
        with host.deferred_sync():  # one barrier, not two fsyncs per file (docs/CONTRACT-NOTES.md)
            ordered = order_stages(stages if stages is not None else registered_stages(host))
            _run_stages(ctx, ordered, report, progress, on_record, on_start, full)
    except BaseException as exc:  # the end is recorded however the run ends, then it goes on
        if host.in_flight:  # a runner crash never leaves a program unwaited
            from kindling.appliers import collect_in_flight

            collect_in_flight(host)
        _note_progress(host, {**progress, "state": "failed", "finished": round(time.time(), 3),
                              "failed": [r.name for r in report.records if r.status == "failed"],
                              "error": f"boot runner: {describe(exc)}"})
        raise
    finally:
        host.in_flight = host.resolved = host.applied = None
    _note_progress(host, {**progress, "state": "done" if report.ok else "failed",
                          "finished": round(time.time(), 3),
                          "failed": [r.name for r in report.records if r.status == "failed"]})
    return report


def _run_stages(
    ctx: BootContext,
    ordered: list[Stage],
    report: BootReport,
    progress: dict[str, Any],
    on_record: Callable[[StageRecord], None] | None,
    on_start: Callable[[Stage], None] | None,
    full: bool,
) -> None:
    from kindling.boot_fingerprint import BootState, build_key, replay

    host, platform = ctx.host, ctx.platform
    state = BootState(host, build_key(platform))
    ctx.settings_source = state.settings
    t0 = time.perf_counter()
    failed: dict[str, str] = {}
    ctx.options["failed_stages"] = failed  # live view: late stages (cfsignal) judge the run so far
    started_by: dict[int, int] = {}  # id of a program left running -> index of its stage's record
    noted = False  # whether the "running" state is written (kindling/boot_progress.py)
    for stage in ordered:
        if stage.platforms is not None and platform not in stage.platforms:
            continue
        blocked = [d for d in stage.after if d in failed]
        start = time.perf_counter()
        mark = len(host.actions)
        reason = None if blocked else _precondition(ctx, stage)
        entry = None if blocked or reason or stage.per_boot or full else state.unchanged(stage.name)
        if blocked:
            result = skipped(f"{blocked[0]} failed")
            failed[stage.name] = result.detail
        elif reason is not None:  # what its run would find first: it would do nothing more
            state.keep_previous(stage.name)
            result = skipped(reason)
        elif entry is not None:
            if entry.get("replay"):
                state.acting()
                if not noted:  # the boot acts: it says it runs first
                    _note_progress(host, progress)
                    noted = True
            replay(host, entry)
            state.keep(stage.name, entry)
            result = skipped(UNCHANGED)
        else:
            # only a stage that runs is worth a progress write: a skipped one takes no time
            _note_progress(host, {**progress, "stage": stage.name, "stage_started": round(time.time(), 3)})
            noted = True
            mark = len(host.actions)  # a plan records that write: it is not the stage's
            ctx.log = log.get(stage.name)
            state.acting()
            host.seen, host.replay = set(), []
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
            finally:
                seen, effects = host.seen, host.replay
                host.seen = host.replay = None
            if result.status == "failed":  # raised, or returned (a stage's own verdict)
                failed[stage.name] = result.detail
            if not stage.per_boot:
                state.record(stage.name, result.status, result.detail, seen, effects)
        record = StageRecord(
            stage.name,
            result.status,
            result.detail,
            start - t0,
            time.perf_counter() - start,
            tuple(host.actions[mark:]),
            result.notes,
        )
        for pending in (host.in_flight or {}).values():
            started_by.setdefault(id(pending), len(report.records))
        report.records.append(record)
        if on_record is not None:
            on_record(record)
    _collect_in_flight(host, report, started_by, state, on_record)
    write_timeline(host, report)
    if not host.recording:
        host.barrier()  # every stage's files on disk before the state that lets a later boot skip them
        state.save()


def _precondition(ctx: BootContext, stage: Stage) -> str | None:
    """The stage's reason to skip itself, or None; a check that fails lets the stage run
    (its own run meets the same problem and reports it as the stage's result)."""
    if stage.precondition is None:
        return None
    try:
        return stage.precondition(ctx)
    except Exception:
        return None


def _collect_in_flight(host: Host, report: BootReport, started_by: dict[int, int], state: BootState,
                       on_record: Callable[[StageRecord], None] | None) -> None:
    """Wait for the programs appliers left running that no later run collected; one that
    failed fails the stage that started it (reported again, and rerun on the next boot)."""
    if not host.in_flight:
        return  # (a later boot runs no applier: it does not import them)
    from kindling.appliers import collect_in_flight

    origin = {name: started_by.get(id(p)) for name, p in host.in_flight.items()}
    for outcome in collect_in_flight(host):
        at = origin.get(outcome.name)
        if outcome.ok or at is None:
            continue
        old = report.records[at]
        report.records[at] = StageRecord(old.name, "failed", f"{old.detail}; {outcome.name}: {outcome.detail}",
                                         old.start, old.duration, old.actions, old.notes)
        state.forget(old.name)
        if on_record is not None:
            on_record(report.records[at])


def _note_progress(host: Host, progress: dict[str, Any]) -> None:
    """Record how far the boot is; a file that cannot be written costs a warning,
    never the boot (the stages matter more than the report about them)."""
    from kindling.boot_progress import PROGRESS_PATH, write_progress

    try:
        write_progress(host, progress)
    except KindlingError as exc:
        log.get("boot").warning(f"{PROGRESS_PATH}: boot progress not recorded: {exc}")


def write_timeline(host: Host, report: BootReport) -> None:
    """Write the run's timeline through the Host (a plan records it, writes nothing)."""
    host.makedirs("/run/kindling", mode=0o755)
    host.write_file(TIMELINE_PATH, jsonio.dumps(report.to_json(), indent=2) + "\n", mode=0o644)


def format_record(record: StageRecord) -> str:
    """`early-boot-config  ok  12.3 ms  (3 providers)` — one line per stage."""
    status = record.status if not record.detail else f"{record.status}: {record.detail}"
    if record.status == "ok" and record.detail:
        status = f"ok ({record.detail})"
    return f"{record.name:<24} {status}  [{record.duration * 1000:.1f} ms]"
