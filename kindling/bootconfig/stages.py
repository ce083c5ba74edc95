"""Boot stages for boot settings (kindling/boot.py bands).

- `boot-settings` (41, generators band, after early-boot-config): Bottlerocket's
  setting generator `prairiedog generate-boot-settings` — when settings.boot holds no
  parameters yet, take them from the running kernel's /proc/bootconfig, so the
  image's own parameters survive the first regeneration of bootconfig.data.
- `reboot-if-required` (79, last consumer, after apply-settings, where the
  `bootconfig` applier has written bootconfig.data).
"""

from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok, skipped

__all__ = ["BOOT_SETTINGS", "REBOOT_IF_REQUIRED"]


def holds_parameters(ctx: BootContext) -> str | None:
    """`import_running`'s own condition, read without loading kindling.bootconfig.service
    (~1.6 ms): the stage is asked it on every later boot (kindling/boot.py `precondition`),
    through the boot's settings (no SQLite while the datastore is unchanged)."""
    boot = ctx.settings("settings.boot").get("boot")
    if isinstance(boot, dict) and ("kernel-parameters" in boot or "init-parameters" in boot):
        return "settings.boot already holds boot parameters"
    return None


def run_boot_settings(ctx: BootContext) -> StageResult:
    from kindling.bootconfig.service import import_running

    committed, detail = import_running(ctx.host)
    return ok(detail) if committed else skipped(detail)


def run_reboot_if_required(ctx: BootContext) -> StageResult:
    from kindling.bootconfig.service import reboot_if_required

    decision = reboot_if_required(ctx.host)
    if decision.reboot:
        return ok(f"rebooting: {len(decision.changed)} boot parameters differ")
    return skipped(decision.reason)


BOOT_SETTINGS = Stage(
    name="boot-settings",
    order=41,
    run=run_boot_settings,
    after=("early-boot-config",),
    unit="kindling-boot-settings.service",
    description="take boot parameters from /proc/bootconfig when settings have none",
    precondition=holds_parameters,  # kdump-reserve adds to settings.boot after it ran
)

REBOOT_IF_REQUIRED = Stage(
    name="reboot-if-required",
    order=79,
    run=run_reboot_if_required,
    after=("apply-settings",),
    unit="kindling-reboot-if-required.service",
    description="reboot when boot parameters differ and reboot-to-reconcile is set",
)
