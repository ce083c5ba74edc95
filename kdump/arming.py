"""Is kdump armed, and if not, is that expected (a reboot pending) or a failure?

- Which mechanism carries `crashkernel=` (kindling/bootloader: always the boot
  loader's command line, being an EARLY parameter) and whether the running kernel
  has it: the same comparison `reboot-if-required` makes.
- `kernel.panic_on_oops = 1` while kdump is enabled, as Bottlerocket's release
  sysctls set it: an oops then panics into the crash kernel instead of leaving a
  half-dead node without a dump. It is written as `/etc/sysctl.d/80-kindling-kdump.conf`
  (systemd-sysctl, every boot) and into /proc/sys now. The kernel.sysctl applier
  writes the user's own sysctls to 90-kindling.conf, which sorts later and wins; and
  when the user set `kernel.panic_on_oops` in settings, Kindling writes no default at all.
- The verdict for `boot`: enabled, something to reserve, nothing reserved, and the
  kernel was booted since the boot loader was given crashkernel= (or booted with it)
  -> failed: kdump cannot arm, a reboot will not change that.
"""

from __future__ import annotations

from kdump.facts import CRASH_LOADED, CRASH_SIZE, LOAD_DISABLED, VMCORE, int_file
from kindling.host import Host
from kindling.record import record

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from kdump.facts import KernelFacts  # (a later boot's kdump-load reads no facts
    from kdump.plan import KdumpPlan  # and builds no plan: `already_loaded`)

__all__ = ["PANIC_ON_OOPS_CONF", "Carrier", "already_loaded", "arming_failure",
           "crashkernel_carrier", "disable_further_loads", "kdump_enabled", "set_panic_on_oops"]

PANIC_ON_OOPS_CONF = "/etc/sysctl.d/80-kindling-kdump.conf"
PANIC_ON_OOPS = "/proc/sys/kernel/panic_on_oops"
SYSCTL_KEY = "kernel.panic_on_oops"


@record(frozen=True)
class Carrier:
    carrier: str  # cmdline | bootconfig | none
    why: str
    in_effect: bool
    loader: str
    rebooted_since: bool  # a boot happened after the loader was given it

    def describe(self) -> str:
        how = {"cmdline": "the boot loader's kernel command line",
               "bootconfig": "bootconfig in the initrd", "none": "nothing"}[self.carrier]
        return f"{how} ({self.loader}: {self.why})"

    def to_json(self) -> dict[str, Any]:
        return {"carrier": self.carrier, "why": self.why, "in_effect": self.in_effect,
                "loader": self.loader, "rebooted_since": self.rebooted_since}


def crashkernel_carrier(host: Host, settings: dict[str, Any]) -> Carrier | None:
    """How `kernel.crashkernel` reaches the kernel, or None when boot settings lack it."""
    from kindling.bootloader.integrate import boot_id, carriers_now, read_state

    boot = settings.get("boot") if isinstance(settings.get("boot"), dict) else {}
    status, loader = carriers_now(host, boot or {})
    state = read_state(host)
    rebooted = bool(state and state.boot_id and boot_id(host) and state.boot_id != boot_id(host))
    for carried, effect in status:
        if carried.key == "kernel.crashkernel":
            return Carrier(carried.carrier, carried.why, effect, loader, rebooted)
    return None


def arming_failure(
    plan: KdumpPlan, facts: KernelFacts, carrier_of: Callable[[], Carrier | None]
) -> str | None:
    """Why kdump cannot arm on this boot although it should have (None: no failure).

    `carrier_of` is asked last, only when the kernel reserved nothing: finding the boot
    loader and the carriers costs a boot with a reservation several imports."""
    if not plan.enabled or plan.crashkernel is None or facts.in_crash_kernel:
        return None
    if facts.reserved_now_bytes > 0:
        return None
    if facts.cmdline_crashkernel is not None and facts.cmdline_crashkernel != "0M":
        return (f"booted with crashkernel={facts.cmdline_crashkernel} but the kernel reserved "
                "nothing (/sys/kernel/kexec_crash_size is 0): see dmesg for 'crashkernel'")
    carrier = carrier_of()
    if carrier is not None and carrier.carrier == "cmdline" and carrier.rebooted_since:
        return (f"the boot loader ({carrier.loader}) was given crashkernel={plan.crashkernel} "
                "before this boot, but the kernel was not booted with it: is the generated "
                "configuration the one that boots? (kindling bootconfig install)")
    return None


def kdump_enabled(settings: dict[str, Any]) -> bool:
    """`settings.kdump.enabled`, true unless set to false."""
    kdump = settings.get("kdump")
    return not (isinstance(kdump, dict) and kdump.get("enabled") is False)


def _user_set(settings: dict[str, Any]) -> bool:
    kernel = settings.get("kernel")
    sysctl = kernel.get("sysctl") if isinstance(kernel, dict) else None
    return isinstance(sysctl, dict) and SYSCTL_KEY in sysctl


def set_panic_on_oops(host: Host, settings: dict[str, Any], enabled: bool) -> list[str]:
    """The default of the module docstring; what changed."""
    if not enabled or _user_set(settings):
        return [f"removed {PANIC_ON_OOPS_CONF}"] if host.remove(PANIC_ON_OOPS_CONF) else []
    done = []
    host.makedirs("/etc/sysctl.d", mode=0o755)
    if host.write_file(PANIC_ON_OOPS_CONF, f"# kdump is enabled (settings.kdump.enabled): an "
                       f"oops panics into the crash kernel\n{SYSCTL_KEY} = 1\n", mode=0o644):
        done.append(f"wrote {PANIC_ON_OOPS_CONF}")
    if (host.read_optional(PANIC_ON_OOPS) or "1").strip() != "1":
        # tee: procfs takes no atomic rename; under a root prefix this is the planted file
        host.run(["tee", host.real(PANIC_ON_OOPS)], input=b"1\n", timeout=30)
        done.append(f"{SYSCTL_KEY} = 1")
    return done


def already_loaded(host: Host, *, disable_kexec_load: bool = False) -> str | None:
    """kdump/load.py `load_crash_kernel`'s answer when its third check settles it; None: ask it.

    Not in the crash kernel, memory reserved and the crash kernel loaded (its checks, in
    its order) is answered from the three files those checks read: a later boot, whose
    kernel the first boot armed, reads no memory size, builds no plan and imports neither
    (nor kdump.load). A file that is not a number is refused as `read_facts` refuses it."""
    if host.exists(VMCORE) or not int_file(host, CRASH_SIZE) or int_file(host, CRASH_LOADED) != 1:
        return None
    if disable_kexec_load:
        disable_further_loads(host, int_file(host, LOAD_DISABLED) == 1)
    return "crash kernel already loaded"


def disable_further_loads(host: Host, disabled: bool) -> None:
    """Bottlerocket's disable-kexec-load (`sysctl kernel.kexec_load_disabled=1`), once armed.

    Written under the Host's root, which keeps a root prefix (tests, the demo node) off
    this machine's real kernel; tee: procfs takes no atomic rename. A kernel without the
    file has no kexec to disable."""
    if not disabled and host.exists(LOAD_DISABLED):
        host.run(["tee", host.real(LOAD_DISABLED)], input=b"1\n", timeout=30)
