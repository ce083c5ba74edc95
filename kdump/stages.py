"""kdump boot stages (kindling/boot.py bands).

- `kdump-reserve` (45, generators, after early-boot-config and boot-settings, so the
  image's own parameters are in settings first): plan, and write the reservation into
  boot settings; the `bootconfig` applier writes bootconfig.data.
- `kdump-load` (65, consumers band): load the crash kernel and disable further kexec
  loads, as Bottlerocket's load-crash-kernel and disable-kexec-load units do. It
  depends on no other stage (as load-crash-kernel does not need settings-applier):
  a failing applier elsewhere must not leave the node without crash capture.
"""

from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok, skipped

__all__ = ["KDUMP_LOAD", "KDUMP_RESERVE"]


# every setting the stages read: kdump.*, the boot parameters (the reservation, its
# carrier) and the user's sysctls (kernel.panic_on_oops); kdump-load asks on every boot,
# and a later boot answers it from the boot state while the datastore is unchanged
SETTINGS = ("settings.kdump", "settings.boot", "settings.kernel.sysctl")


def _settings(ctx: BootContext) -> dict[str, object]:
    return ctx.settings(*SETTINGS)


def run_reserve(ctx: BootContext) -> StageResult:
    from kdump.facts import read_facts
    from kdump.plan import make_plan
    from kdump.reserve import write_reservation
    from kdump.sizing import format_bytes

    plan = make_plan(_settings(ctx), read_facts(ctx.host))
    if plan.in_crash_kernel:
        return skipped("running in the crash kernel")
    done = write_reservation(ctx.host, plan)
    from kdump.arming import crashkernel_carrier

    carrier = crashkernel_carrier(ctx.host, _settings(ctx)) if plan.crashkernel else None
    reboot = "; reboot needed" if plan.needs_reboot else ""
    if carrier is not None:
        reboot = f"; carried by {carrier.describe()}" + (
            "; reboot needed" if not carrier.in_effect else "")
    for warning in plan.warnings:
        ctx.log.warning(warning)
    if plan.crashkernel is None:
        what = f"nothing to reserve ({plan.source})"
    else:
        what = f"crashkernel={plan.crashkernel}: {format_bytes(plan.planned_bytes)}"
    if done:
        return ok(ctx.host.did("write", f"{what} to boot settings{reboot}"))
    return skipped(f"{what} already in boot settings{reboot}")


def run_load(ctx: BootContext) -> StageResult:
    from kdump.arming import already_loaded, kdump_enabled, set_panic_on_oops

    settings = _settings(ctx)
    enabled = kdump_enabled(settings)
    set_panic_on_oops(ctx.host, settings, enabled)
    if not enabled:
        return skipped("settings.kdump.enabled is false")
    kdump = settings.get("kdump")
    override = kdump.get("crashkernel") if isinstance(kdump, dict) else None
    if isinstance(override, str):  # refused as make_plan refuses it, loaded or not
        from kdump.sizing import parse_crashkernel

        parse_crashkernel(override)
    # reserved and loaded: no arming failure to find (arming_failure returns None once
    # memory is reserved) and nothing to load, so no facts, plan or carrier are needed
    quick = already_loaded(ctx.host, disable_kexec_load=True)
    if quick is not None:
        return skipped(quick)
    from kdump.arming import arming_failure, crashkernel_carrier
    from kdump.facts import read_facts
    from kdump.load import load_crash_kernel
    from kdump.plan import make_plan

    facts = read_facts(ctx.host)
    failure = arming_failure(make_plan(settings, facts), facts,
                             lambda: crashkernel_carrier(ctx.host, settings))
    if failure is not None:
        return StageResult("failed", f"kdump cannot arm: {failure}")
    result = load_crash_kernel(ctx.host, disable_kexec_load=True)
    return ok(result.detail) if result.loaded else skipped(result.detail)


KDUMP_RESERVE = Stage(
    name="kdump-reserve",
    order=45,
    run=run_reserve,
    after=("early-boot-config", "boot-settings"),
    unit="kindling-kdump-reserve.service",
    description="size the crash kernel reservation and write it into boot settings",
)

KDUMP_LOAD = Stage(
    name="kdump-load",
    order=65,
    run=run_load,
    unit="kindling-kdump-load.service",
    per_boot=True,
    description="load the crash kernel with kexec -p",
    outputs=("/etc/sysctl.d/80-kindling-kdump.conf",),  # kdump/arming.py
)
