"""Boot stage `apply-settings`: run every applier on the live settings (Bottlerocket's
settings-applier, `thar-be-settings --all`), after user data and generators; one that a
commit of this boot already applied to the settings as they are now is not run again,
only counted (kindling/appliers.py `run_unapplied`)."""

from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok
from kindling.errors import KindlingError

__all__ = ["STAGE"]


def run(ctx: BootContext) -> StageResult:
    from kindling.api.service import SettingsService

    outcomes, already = SettingsService(ctx.host).apply_unapplied()
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise KindlingError("; ".join(f"{o.name}: {o.detail}" for o in failed))
    if not already:
        return ok(f"{len(outcomes)} appliers")
    verb = "would be skipped: applied earlier" if ctx.host.recording else "already applied"
    return ok(f"{len(outcomes)} appliers ({already} {verb} in this boot)")


STAGE = Stage(
    name="apply-settings",
    order=50,
    run=run,
    after=("early-boot-config",),
    unit="kindling-settings-applier.service",
    description="render live settings into configuration files",
)
