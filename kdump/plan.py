"""`kindling kdump plan`: what to reserve, what the kernel reserved, what must change.

Inputs: `settings.kdump.{enabled,crashkernel}` (enabled by default, as Bottlerocket's
metal and VMware variants are) and the running kernel's facts. Output, as JSON:
`memory_bytes`, `crashkernel` (the kernel argument, or null when nothing should be
reserved), `planned_bytes`, `reserved_now_bytes`, `needs_reboot`, and the changes.

The reservation is written as boot settings: `settings.boot.kernel-parameters.
crashkernel`, which the `bootconfig` applier turns into `kernel.crashkernel` in
bootconfig.data (issue 7). Caveat, stated in every plan that writes it: the kernel
reads `crashkernel=` in setup_arch(), before it reads bootconfig, so on kernels that
do not take early parameters from bootconfig (all of them, to date) the reservation
also needs the boot loader's command line (e.g. a GRUB drop-in). The kernel copies
bootconfig parameters into /proc/cmdline, so "booted with this argument but nothing
reserved" is reported as a warning instead of a reboot that would change nothing.

Disabling: settings cannot be deleted, so `enabled = false` with a crashkernel
parameter in boot settings writes `crashkernel=0M`, which the kernel reads as
"reserve nothing".
"""

from __future__ import annotations

from kdump.arming import kdump_enabled
from kdump.sizing import DEFAULT_CRASHKERNEL, format_bytes, parse_crashkernel
from kindling.record import field, record

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

    from kdump.facts import KernelFacts

__all__ = ["DISABLED_CRASHKERNEL", "KdumpPlan", "kdump_enabled", "make_plan"]

DISABLED_CRASHKERNEL = "0M"
PARAM_KEY = "settings.boot.kernel-parameters.crashkernel"


@record(frozen=True)
class KdumpPlan:
    enabled: bool
    memory_bytes: int
    crashkernel: str | None  # the kernel argument; None: reserve nothing
    source: str  # where the argument came from
    planned_bytes: int
    reserved_now_bytes: int
    running_crashkernel: str | None  # crashkernel= on /proc/cmdline
    configured_crashkernel: str | None  # in settings.boot.kernel-parameters
    write_parameter: str | None  # value to write into boot settings, None: leave it
    needs_reboot: bool
    in_crash_kernel: bool
    crash_loaded: bool
    kexec_load_disabled: bool
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "memory_bytes": self.memory_bytes,
            "crashkernel": self.crashkernel,
            "source": self.source,
            "planned_bytes": self.planned_bytes,
            "reserved_now_bytes": self.reserved_now_bytes,
            "running_crashkernel": self.running_crashkernel,
            "configured_crashkernel": self.configured_crashkernel,
            "needs_reboot": self.needs_reboot,
            "in_crash_kernel": self.in_crash_kernel,
            "crash_kernel_loaded": self.crash_loaded,
            "kexec_load_disabled": self.kexec_load_disabled,
            "changes": list(self.changes),
            "warnings": list(self.warnings),
        }


def _configured(settings: dict[str, Any]) -> str | None:
    params = (settings.get("boot") or {}).get("kernel-parameters") or {}
    values = params.get("crashkernel")
    if isinstance(values, list) and values:
        return str(values[-1])
    return None


def make_plan(settings: dict[str, Any], facts: KernelFacts) -> KdumpPlan:
    """Pure: the plan for these live settings on a kernel with these facts."""
    kdump = settings.get("kdump") or {}
    enabled = kdump_enabled(settings)
    override = kdump.get("crashkernel")
    arg_text = override if isinstance(override, str) else DEFAULT_CRASHKERNEL
    source = "settings.kdump.crashkernel" if isinstance(override, str) else "default table"
    planned = parse_crashkernel(arg_text).reserve_for(facts.memory_bytes) if enabled else 0
    wanted = arg_text if planned else None
    if not enabled:
        source = "settings.kdump.enabled = false"
    configured = _configured(settings)
    running = facts.cmdline_crashkernel
    changes: list[str] = []

    write: str | None = None
    if wanted is not None and configured != wanted:
        write = wanted
    elif wanted is None and configured not in (None, DISABLED_CRASHKERNEL):
        write = DISABLED_CRASHKERNEL
    if write is not None:
        changes.append(f"set {PARAM_KEY} = [{write!r}] (bootconfig kernel.crashkernel)")

    warnings: list[str] = []
    if wanted is None:
        needs_reboot = facts.reserved_now_bytes > 0
    elif running == wanted:
        needs_reboot = False  # booted with exactly this argument: a reboot changes nothing
        if facts.reserved_now_bytes == 0:
            warnings.append(
                f"the kernel was booted with crashkernel={wanted} but reserved nothing: the"
                " kernel reads crashkernel= before bootconfig, so it must also be on the boot"
                " loader's command line (or the memory could not be found: see dmesg)"
            )
    else:
        needs_reboot = facts.reserved_now_bytes != planned
    if needs_reboot and wanted is not None:
        changes.append(
            f"reboot to reserve {format_bytes(planned)} (now {format_bytes(facts.reserved_now_bytes)});"
            " crashkernel= is read before bootconfig: the boot loader's command line may"
            " need it too"
        )
    elif needs_reboot:
        changes.append(f"reboot to release {format_bytes(facts.reserved_now_bytes)}")
    return KdumpPlan(
        enabled=enabled,
        memory_bytes=facts.memory_bytes,
        crashkernel=wanted,
        source=source,
        planned_bytes=planned,
        reserved_now_bytes=facts.reserved_now_bytes,
        running_crashkernel=running,
        configured_crashkernel=configured,
        write_parameter=write,
        needs_reboot=needs_reboot,
        in_crash_kernel=facts.in_crash_kernel,
        crash_loaded=facts.crash_loaded,
        kexec_load_disabled=facts.kexec_load_disabled,
        changes=changes,
        warnings=warnings,
    )
