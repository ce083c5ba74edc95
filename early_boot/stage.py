"""Boot stage `early-boot-config` (band 30-39: user data, after the network is up).

Mirrors the unit `kindling-early-boot-config.service` (After= the apiserver and
network-online.target, ConditionPathExists=! the marker): a present marker skips
the stage and says so, as systemd's condition does.
"""

from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok, skipped

__all__ = ["STAGE"]


def applied(ctx: BootContext) -> str | None:
    """The unit's condition, as systemd checks it before starting the unit: a node that has
    applied its user data imports neither the runner, the providers nor the model."""
    from early_boot import MARKER_PATH
    from kindling.first_boot import marker_state

    if marker_state(ctx.host, MARKER_PATH)[0] == "done":
        return f"{MARKER_PATH} exists (user data already applied)"
    return None


def run(ctx: BootContext) -> StageResult:
    reason = applied(ctx)
    if reason is not None:
        return skipped(reason)
    from early_boot.runner import effect_line, run_early_boot

    report = run_early_boot(ctx.host, ctx.platform)
    if report.skipped:
        return skipped(report.skipped)
    with_data = [p for p in report.providers if p.source is not None]
    detail = f"{len(with_data)}/{len(report.providers)} providers had data, "
    detail += ctx.host.did("change", f"{len(report.changed)} keys")
    if report.generated:
        detail += "; " + "; ".join(report.generated)
    if report.applier_failures:
        detail += f"; appliers failed: {'; '.join(report.applier_failures)}"
    return ok(detail, notes=tuple(effect_line(ctx.host, e) for e in report.effects))


STAGE = Stage(
    name="early-boot-config",
    order=30,
    run=run,
    unit="kindling-early-boot-config.service",
    description="read the platform's user data and commit it to the settings datastore",
    precondition=applied,  # its commit changes the datastore later stages change again
)
