"""What the running kernel says about crash dumps, read through the Host (DESIGN §2).

Memory comes from psutil on the real root, or from /proc/meminfo under a root
prefix (tests, image builders), never the machine's own /proc in that case. The
kernel takes the crash reservation out of MemTotal, so the RAM size the crashkernel
ranges are matched against is MemTotal plus /sys/kernel/kexec_crash_size.
"""

from __future__ import annotations

import os

from kindling.errors import HostError
from kindling.host import Host
from kindling.record import record

__all__ = ["KernelFacts", "cmdline_crashkernel", "int_file", "read_facts"]

MEMINFO = "/proc/meminfo"
CRASH_SIZE = "/sys/kernel/kexec_crash_size"
CRASH_LOADED = "/sys/kernel/kexec_crash_loaded"
LOAD_DISABLED = "/proc/sys/kernel/kexec_load_disabled"
VMCORE = "/proc/vmcore"
CMDLINE = "/proc/cmdline"


@record(frozen=True)
class KernelFacts:
    memory_bytes: int
    mem_total_bytes: int
    reserved_now_bytes: int
    crash_loaded: bool
    kexec_load_disabled: bool
    in_crash_kernel: bool
    cmdline: str
    release: str
    arch: str

    @property
    def cmdline_crashkernel(self) -> str | None:
        return cmdline_crashkernel(self.cmdline)


def cmdline_crashkernel(cmdline: str) -> str | None:
    """The crashkernel= value the kernel used: the last one wins (get_last_crashkernel)."""
    found = None
    for token in cmdline.split():
        if token == "--":
            break
        name, eq, value = token.partition("=")
        if name == "crashkernel" and eq:
            found = value
    return found


def int_file(host: Host, path: str) -> int | None:
    """The number in a one-number kernel file (None: absent or empty); KdumpError otherwise."""
    text = host.read_optional(path)
    if text is None or not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        from kdump.errors import KdumpError  # only to refuse: a boot that reads numbers skips it

        raise KdumpError(f"{path}: not a number") from None


def _mem_total(host: Host) -> int:
    if not host.prefixed:
        import psutil

        return int(psutil.virtual_memory().total)
    text = host.read_optional(MEMINFO)
    for line in (text or "").splitlines():
        name, _, rest = line.partition(":")
        if name == "MemTotal":
            parts = rest.split()
            if parts and parts[0].isdigit():
                scale = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
                return int(parts[0]) * scale
    raise HostError(f"{MEMINFO}: no MemTotal line")


def read_facts(host: Host) -> KernelFacts:
    """Read memory, reservation, loaded state and command line of the running kernel."""
    reserved = int_file(host, CRASH_SIZE) or 0
    mem_total = _mem_total(host)
    # under a root prefix the machine's own release would name the wrong kernel;
    # os.uname() answers what `platform` would, without its 2 ms import
    fallback = "" if host.prefixed else os.uname().release
    release = (host.read_optional("/proc/sys/kernel/osrelease") or fallback).strip()
    arch = (host.read_optional("/proc/sys/kernel/arch") or os.uname().machine).strip()
    return KernelFacts(
        memory_bytes=mem_total + reserved,
        mem_total_bytes=mem_total,
        reserved_now_bytes=reserved,
        crash_loaded=int_file(host, CRASH_LOADED) == 1,
        kexec_load_disabled=int_file(host, LOAD_DISABLED) == 1,
        in_crash_kernel=host.exists(VMCORE),
        cmdline=(host.read_optional(CMDLINE) or "").strip(),
        release=release,
        arch=arch,
    )
