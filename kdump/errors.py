"""kdump errors (STYLE: Errors).

    KindlingError
    ├── InputError
    │   └── CrashkernelError        a crashkernel= value the kernel would not take
    └── HostError
        └── KdumpError              kdump cannot act on this host
            ├── KexecLoadDisabled   kernel.kexec_load_disabled is 1
            ├── NotInCrashKernel    capture outside the kdump kernel (bottlerocket#2631)
            └── NoSpaceForDump      the dump would not fit: refused before writing
"""

from __future__ import annotations

from kindling.errors import HostError, InputError

__all__ = [
    "CrashkernelError",
    "KdumpError",
    "KexecLoadDisabled",
    "NoSpaceForDump",
    "NotInCrashKernel",
]


class CrashkernelError(InputError):
    """A `crashkernel=` value that does not follow the kernel's syntax."""


class KdumpError(HostError):
    """kdump cannot do what was asked on this host."""


class KexecLoadDisabled(KdumpError):
    """`/proc/sys/kernel/kexec_load_disabled` is 1: no kernel can be loaded until reboot."""


class NotInCrashKernel(KdumpError):
    """`capture` runs only in the crash kernel, where /proc/vmcore exists."""


class NoSpaceForDump(KdumpError):
    """Not enough free space for a dump: nothing was written."""
