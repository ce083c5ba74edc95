"""Boot stages of the AWS signalling services (band 60-79, DESIGN §4; `kindling boot`).

Under systemd each runs as its own unit (`kindling-<name>.service`). Inside
`kindling boot` the stages run in one process that is itself part of the boot, so
cfsignal and the lifecycle hook cannot wait for systemd to report `running` (they
would wait on themselves): they judge the run so far — a stage of this run failed,
a unit failed, or systemd is degraded / in maintenance means FAILURE / ABANDON —
from one read of the system state (`read_system`) and the runner's failed stages.
warm-pool-wait runs before them (order 70) exactly as its unit does.
"""

from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok, skipped

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from platforms.aws.instance import Instance
    from platforms.aws.system_state import SystemStatus

__all__ = ["CFSIGNAL", "LIFECYCLE", "WARM_POOL_WAIT"]


def _run_verdict(ctx: BootContext) -> SystemStatus:
    """systemd's state now, made a failure if any earlier stage of this run failed."""
    from platforms.aws.system_state import SystemStatus, read_system

    status = read_system(ctx.host)
    failed = ctx.options.get("failed_stages") or {}
    if failed:
        stages = tuple(f"kindling stage {name}" for name in sorted(failed))
        return SystemStatus(status.state, status.failed_units + stages, snapshot=True)
    return status


def _warm_pool_wait(ctx: BootContext) -> StageResult:
    from platforms.aws.warm_pool import run_warm_pool_wait

    report = run_warm_pool_wait(ctx.host)
    return ok(report.detail) if report.waited else skipped(report.detail)


def _cfsignal(ctx: BootContext) -> StageResult:
    from platforms.aws.cfsignal import run_cfsignal

    def verdict(_: Instance) -> SystemStatus:
        return _run_verdict(ctx)

    report = run_cfsignal(ctx.host, verdict=verdict)
    return ok(report.detail) if report.sent else skipped(report.detail)


def _lifecycle(ctx: BootContext) -> StageResult:
    from platforms.aws.lifecycle import run_lifecycle_complete

    def verdict(_: Instance) -> SystemStatus:
        return _run_verdict(ctx)

    report = run_lifecycle_complete(ctx.host, verdict=verdict)
    return ok(report.detail) if report.completed else skipped(report.detail)


WARM_POOL_WAIT = Stage(
    name="warm-pool-wait",
    order=70,
    run=_warm_pool_wait,
    platforms=("aws",),
    unit="kindling-warm-pool-wait.service",
    per_boot=True,
    description="wait until the Auto Scaling warm pool puts this instance in service",
)
CFSIGNAL = Stage(
    name="cfsignal",
    order=78,
    run=_cfsignal,
    platforms=("aws",),
    unit="kindling-cfsignal.service",
    per_boot=True,
    description="signal the CloudFormation stack with the boot's outcome",
)
LIFECYCLE = Stage(
    name="lifecycle-complete",
    order=79,
    run=_lifecycle,
    platforms=("aws",),
    unit="kindling-lifecycle-complete.service",
    per_boot=True,
    description="complete the Auto Scaling launch lifecycle action (CONTINUE / ABANDON)",
)
