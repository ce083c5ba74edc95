"""Boot settings on a host: generate bootconfig.data, read the running kernel's
bootconfig, reboot to reconcile (Bottlerocket's prairiedog, reference §6.2; DESIGN §3-4).

- `generate`: settings.boot -> `/var/lib/kindling/bootconfig.data` in the initrd
  footer format (the `bootconfig` applier runs it whenever `settings.boot` changes).
- `read_running`: /proc/bootconfig (+ /proc/cmdline to tell `nosmt` from `nosmt=`).
- `reboot_if_required`: reboot through `systemctl reboot` only when
  `settings.boot.reboot-to-reconcile` is true and the parameters really differ.

Reboot loops are closed three ways (bottlerocket#3957 and its cousins): the
comparison treats `[]` and `[""]` alike; a kernel without /proc/bootconfig (no
CONFIG_BOOT_CONFIG, or `bootconfig` missing from its command line) can never
reconcile, so it is never rebooted for that; and a marker holding the fingerprint
of the wanted parameters is written before rebooting, so if the same difference is
still there after the reboot, Kindling says so and does not reboot again. Under a root
prefix the machine is never rebooted unless KINDLING_ACT_ON_KERNEL=1
(kindling/live_kernel.py).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from kindling import log
from kindling.bootconfig.boot_params import (
    BootParams,
    params_from_bootconfig,
    params_from_settings,
    render_boot_params,
)
from kindling.bootconfig.footer import write_footer
from kindling.bootconfig.model import BootConfig
from kindling.bootconfig.parse import parse_bootconfig
from kindling.host import Host
from kindling.live_kernel import ACT_ON_KERNEL_ENV, may_act_on_live_kernel
from kindling.record import record

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BOOTCONFIG_DATA",
    "PROC_BOOTCONFIG",
    "REBOOT_MARKER",
    "RebootDecision",
    "boot_settings",
    "decide_reboot",
    "generate",
    "import_running",
    "read_running",
    "reboot_if_required",
    "running_params",
]

BOOTCONFIG_DATA = "/var/lib/kindling/bootconfig.data"
PROC_BOOTCONFIG = "/proc/bootconfig"
PROC_CMDLINE = "/proc/cmdline"
REBOOT_MARKER = "/var/lib/kindling/bootconfig-reboot"

_log = log.get("bootconfig")


def boot_settings(host: Host) -> dict[str, Any]:
    """The live `settings.boot` subtree ({} when unset)."""
    from kindling.api.service import SettingsService

    tree = SettingsService(host).get_settings(prefix="settings.boot")
    boot = tree.get("boot")
    return boot if isinstance(boot, dict) else {}


def generate(host: Host, boot: Mapping[str, Any], *, path: str = BOOTCONFIG_DATA) -> list[str]:
    """Write the bootconfig.data for `boot` (a settings.boot subtree); [] if unchanged.

    Everything is rendered and checked before the file is touched, and the write is
    atomic: bad settings leave the previous file as it was.
    """
    text = render_boot_params(params_from_settings(boot))
    data = write_footer(text, source="settings.boot")
    host.makedirs(posixpath.dirname(path), mode=0o755)
    if host.write_file(path, data, mode=0o644):
        return [host.did("write", f"{path} ({len(data)} bytes)")]
    return []


def apply_boot_settings(host: Host, settings: dict[str, Any]) -> list[str]:
    """The `bootconfig` applier: bootconfig.data, then the boot loader (DESIGN §10)."""
    from kindling.bootloader.integrate import integrate

    boot = settings.get("boot")
    boot = boot if isinstance(boot, dict) else {}
    done = generate(host, boot)
    result = integrate(host, boot)
    summary = ", ".join(f"{c.key} -> {c.carrier}" for c in result.carried)
    return [*done, *result.done, *([f"{result.loader.kind}: {summary}"] if summary and
                                   result.loader.kind != "none" else [])]




def read_running(host: Host) -> BootConfig | None:
    """The running kernel's bootconfig, or None when it has no /proc/bootconfig."""
    text = host.read_optional(PROC_BOOTCONFIG)
    if text is None:
        return None
    return parse_bootconfig(text, source=PROC_BOOTCONFIG, allow_empty=True)


def running_params(host: Host) -> BootParams | None:
    """Kernel/init parameters the running kernel got from bootconfig (None: no support)."""
    cfg = read_running(host)
    if cfg is None:
        return None
    return params_from_bootconfig(cfg, cmdline=host.read_optional(PROC_CMDLINE))


@record(frozen=True)
class RebootDecision:
    """Whether to reboot, and why (`changed` lists bootconfig keys, never values)."""

    reboot: bool
    reason: str
    changed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"reboot": self.reboot, "reason": self.reason, "changed": list(self.changed)}


def decide_reboot(host: Host, boot: Mapping[str, Any] | None = None) -> RebootDecision:
    """Compare the wanted parameters with the running kernel's; decide, do nothing.

    Each parameter is compared where its carrier puts it (kindling/bootloader/
    carriers.py): /proc/cmdline for the boot loader's command line, /proc/bootconfig
    for the initrd footer. A parameter nothing carries (yet) is never rebooted for.
    """
    from kindling.bootloader.carriers import NOWHERE
    from kindling.bootloader.integrate import carriers_now

    boot = boot_settings(host) if boot is None else boot
    wanted = params_from_settings(boot)
    status, _ = carriers_now(host, boot)
    changed = tuple(c.key for c, effect in status if not effect)
    if not changed:
        if status and all(c.carrier == NOWHERE for c, _ in status) and read_running(host) is None:
            return RebootDecision(False, "the kernel has no /proc/bootconfig and the boot loader "
                                  "carries none of these parameters: a reboot cannot apply "
                                  "them (run `kindling bootconfig install`)")
        return RebootDecision(False, "boot parameters match the running kernel")
    if boot.get("reboot-to-reconcile") is not True:
        return RebootDecision(False, "boot parameters differ; settings.boot."
                              "reboot-to-reconcile is not true: not rebooting", changed)
    marker = host.read_optional(REBOOT_MARKER)
    if marker is not None and marker.strip() == wanted.fingerprint():
        return RebootDecision(False, "already rebooted once for these boot parameters and "
                              "the kernel still differs: not rebooting again (does the boot "
                              "loader load its configuration? see `kindling bootconfig "
                              "install --plan`)", changed)
    return RebootDecision(True, "boot parameters differ from the running kernel", changed)


def reboot_if_required(host: Host) -> RebootDecision:
    """Decide, then reboot through `systemctl reboot` when the decision says so."""
    boot = boot_settings(host)
    decision = decide_reboot(host, boot)
    if decision.reboot and not may_act_on_live_kernel(host):
        return RebootDecision(False, f"root prefix {host.root}: not rebooting this machine "
                              f"for it (set {ACT_ON_KERNEL_ENV}=1 to allow)", decision.changed)
    if decision.reboot:
        wanted = params_from_settings(boot)
        host.barrier()  # the boot loader's files on disk before the marker that says we rebooted for them
        host.makedirs(posixpath.dirname(REBOOT_MARKER), mode=0o755)
        with host.synced_now():
            host.write_file(REBOOT_MARKER, wanted.fingerprint() + "\n", mode=0o644)
        _log.info("rebooting to reconcile boot parameters", changed=",".join(decision.changed))
        host.run(["systemctl", "reboot"], timeout=60)
    elif not decision.changed:
        host.remove(REBOOT_MARKER)
    return decision


def import_running(host: Host) -> tuple[bool, str]:
    """Bottlerocket's setting generator: fill settings.boot from /proc/bootconfig.

    Only when settings.boot holds no parameters yet, so user settings always win.
    Returns (committed, what happened).
    """
    from kindling.api.service import SettingsService

    boot = boot_settings(host)
    if "kernel-parameters" in boot or "init-parameters" in boot:
        return False, "settings.boot already holds boot parameters"
    params = running_params(host)
    if params is None:
        return False, f"no {PROC_BOOTCONFIG}"
    if params.empty:
        return False, f"{PROC_BOOTCONFIG} holds no kernel or init parameters"
    SettingsService(host).set_tree(params.to_settings(), tx="boot-settings",
                                   source=PROC_BOOTCONFIG)
    return True, f"{len(params.kernel)} kernel, {len(params.init)} init parameters"
