"""The interlock for commands that act on this machine's running kernel.

A root prefix (DESIGN §2) moves every path, but `kexec -p` and `systemctl reboot`
act on the kernel that is running, whatever the root. Run against a test tree or the
demo node, they would load a crash kernel into, or reboot, the machine the tree sits
on. So with a root prefix they run only when the Host's environment says
`KINDLING_ACT_ON_KERNEL=1` (tests with stand-in programs on PATH, VM harnesses);
with the real root `/` they always run.
"""

from __future__ import annotations

from kindling.host import Host

__all__ = ["ACT_ON_KERNEL_ENV", "may_act_on_live_kernel"]

ACT_ON_KERNEL_ENV = "KINDLING_ACT_ON_KERNEL"


def may_act_on_live_kernel(host: Host) -> bool:
    """True on the real root, or under a root prefix when explicitly allowed."""
    return not host.prefixed or host.env.get(ACT_ON_KERNEL_ENV) == "1"
