"""Boot stage `apply-settings`: run every applier on the live settings (Bottlerocket's
settings-applier, `thar-be-settings --all`), after user data and generators."""

from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok
from kindling.errors import KindlingError

__all__ = ["STAGE"]


def run(ctx: BootContext) -> StageResult:
    from kindling.api.service import SettingsService

    outcomes = SettingsService(ctx.host).apply(None)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise KindlingError("; ".join(f"{o.name}: {o.detail}" for o in failed))
    return ok(f"{len(outcomes)} appliers")


STAGE = Stage(
    name="apply-settings",
    order=50,
    run=run,
    after=("early-boot-config",),
    unit="kindling-settings-applier.service",
    description="render live settings into configuration files",
)
