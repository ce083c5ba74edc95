"""Load the crash kernel with `kexec -p` (Bottlerocket's load-crash-kernel, reference §6.1).

Order of checks, as prairiedog, plus idempotence: in the crash kernel -> nothing to
do; `kexec_crash_size` 0 -> clean no-op with a message (no memory reserved); already
loaded -> nothing to do; `kexec_load_disabled` 1 -> error. Then
`kexec -p -s` (kexec_file_load: the only way under Secure Boot lockdown, and the one
that verifies signatures) on architectures that have it, falling back to `-c`
(kexec_load) when the file syscall fails and lockdown does not forbid the fallback.

The crash kernel's command line is the running one (minus `crashkernel=`, the boot
image, bootconfig and the parameters set below, and minus init arguments after
`--`) plus Bottlerocket's crash line, with our capture unit as `systemd.unit=` and
`irqpoll` on x86_64. It is built here instead of `--reuse-cmdline` so that a root
prefix (tests, image builds) sees the command line of that root. Under a root
prefix, kexec itself (which acts on the running kernel) needs KINDLING_ACT_ON_KERNEL=1
(kindling/live_kernel.py).
"""

from __future__ import annotations

from kdump.arming import disable_further_loads
from kdump.facts import read_facts
from kindling.host import Host
from kindling.record import record

TYPE_CHECKING = False  # annotations only; the errors and the interlock are imported when used
if TYPE_CHECKING:
    from kdump.facts import KernelFacts

__all__ = [
    "CAPTURE_UNIT",
    "KEXEC_CMD_LINE",
    "LoadResult",
    "crash_cmdline",
    "kexec_argv",
    "load_crash_kernel",
]

CAPTURE_UNIT = "kindling-kdump-capture.service"
# prairiedog's KEXEC_CMD_LINE, with our capture unit.
KEXEC_CMD_LINE = (
    "maxcpus=1",
    f"systemd.unit={CAPTURE_UNIT}",
    "nr_cpus=1",
    "swiotlb=noforce",
    "cma=0",
    "reset_devices",
    "cgroup_disable=memory",
    "udev.children-max=2",
    "panic=10",
    "nvme_core.admin_timeout=20",
    "swiotlb=1",
)
_DROP = {"crashkernel", "BOOT_IMAGE", "initrd", "bootconfig", "systemd.unit", "maxcpus",
         "nr_cpus", "swiotlb", "cma", "reset_devices", "cgroup_disable", "udev.children-max",
         "panic", "nvme_core.admin_timeout", "irqpoll", "kexec_jump_back_entry"}
FILE_SYSCALL_ARCHES = {"x86_64", "aarch64", "arm64", "s390x", "ppc64le", "riscv64",
                       "loongarch64"}
LOCKDOWN = "/sys/kernel/security/lockdown"


def crash_cmdline(cmdline: str, arch: str) -> str:
    """The crash kernel's command line from the running one (see module docstring)."""
    kept: list[str] = []
    for token in cmdline.split():
        if token == "--":
            break
        if token.partition("=")[0] not in _DROP:
            kept.append(token)
    extra = ["irqpoll"] if arch == "x86_64" else []
    return " ".join([*kept, *KEXEC_CMD_LINE, *extra])


@record(frozen=True)
class LoadResult:
    loaded: bool
    detail: str
    argv: tuple[str, ...] = ()


def _boot_files(host: Host, release: str) -> tuple[str, str | None]:
    versioned = bool(release)
    kernels = [*([f"/boot/vmlinuz-{release}", f"/boot/vmlinux-{release}",
                  f"/boot/Image-{release}"] if versioned else []), "/boot/vmlinuz"]
    initrds = [*([f"/boot/initrd.img-{release}", f"/boot/initramfs-{release}.img",
                  f"/boot/initrd-{release}"] if versioned else []), "/boot/initrd.img"]
    kernel = next((k for k in kernels if host.exists(k)), None)
    if kernel is None:
        from kdump.errors import KdumpError

        raise KdumpError("no kernel image for the crash kernel: tried " + ", ".join(kernels))
    return kernel, next((i for i in initrds if host.exists(i)), None)


def _lockdown_active(host: Host) -> bool:
    text = host.read_optional(LOCKDOWN) or ""
    return "[" in text and "[none]" not in text


def kexec_argv(host: Host, facts: KernelFacts, *, file_syscall: bool) -> list[str]:
    kernel, initrd = _boot_files(host, facts.release)
    argv = ["kexec", "-p", "-s" if file_syscall else "-c",
            f"--command-line={crash_cmdline(facts.cmdline, facts.arch)}"]
    if initrd is not None:
        argv.append(f"--initrd={host.path(initrd)}")
    argv.append(str(host.path(kernel)))
    return argv


def load_crash_kernel(host: Host, *, disable_kexec_load: bool = False) -> LoadResult:
    """Load the crash kernel if this kernel reserved memory for it (see module doc)."""
    from kindling.live_kernel import ACT_ON_KERNEL_ENV, may_act_on_live_kernel

    facts = read_facts(host)
    if facts.in_crash_kernel:
        return LoadResult(False, "running in the crash kernel (/proc/vmcore exists)")
    if facts.reserved_now_bytes == 0:
        return LoadResult(False, "no memory reserved for a crash kernel "
                          "(/sys/kernel/kexec_crash_size is 0): see `kindling kdump plan`")
    if facts.crash_loaded:
        result = LoadResult(False, "crash kernel already loaded")
    elif facts.kexec_load_disabled:
        from kdump.errors import KexecLoadDisabled

        raise KexecLoadDisabled("/proc/sys/kernel/kexec_load_disabled is 1: "
                                "kexec is disabled until the next reboot")
    elif not may_act_on_live_kernel(host):
        return LoadResult(False, f"root prefix {host.root}: not loading a crash kernel into "
                          f"this machine's kernel (set {ACT_ON_KERNEL_ENV}=1 to allow)")
    else:
        result = _load(host, facts)
    if disable_kexec_load:
        disable_further_loads(host, facts.kexec_load_disabled)
    return result


def _load(host: Host, facts: KernelFacts) -> LoadResult:
    from kindling.errors import CommandError

    file_first = facts.arch in FILE_SYSCALL_ARCHES
    argv = kexec_argv(host, facts, file_syscall=file_first)
    try:
        host.run(argv, timeout=120)
    except CommandError:
        if not file_first or _lockdown_active(host):
            raise
        argv = kexec_argv(host, facts, file_syscall=False)
        host.run(argv, timeout=120)
    mode = "kexec_file_load" if "-s" in argv else "kexec_load"
    return LoadResult(True, f"crash kernel loaded ({mode})", tuple(argv))
