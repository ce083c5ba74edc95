"""The kernel appliers, registered apart from their work so that loading every
applier on each commit imports none of it (DESIGN §8, §10)."""

from __future__ import annotations

from typing import Any

from kindling.appliers import Applier
from kindling.host import Host

__all__ = ["LOCKDOWN", "MODULES", "SYSCTL"]


def _sysctl(host: Host, settings: dict[str, Any]) -> list[str]:
    from kindling.kernel.sysctl import apply_sysctls

    return apply_sysctls(host, settings)


def _lockdown(host: Host, settings: dict[str, Any]) -> list[str]:
    from kindling.kernel.lockdown import apply_lockdown

    return apply_lockdown(host, settings)


def _lockdown_check(host: Host, before: dict[str, Any], after: dict[str, Any]) -> None:
    from kindling.kernel.lockdown import check_lockdown

    check_lockdown(host, before, after)


def _sysctl_check(host: Host, before: dict[str, Any], after: dict[str, Any]) -> None:
    from kindling.kernel.sysctl import check_sysctls

    check_sysctls(after)


def _modules_check(host: Host, before: dict[str, Any], after: dict[str, Any]) -> None:
    from kindling.kernel.modules import render_modules

    render_modules(after)


def _modules(host: Host, settings: dict[str, Any]) -> list[str]:
    from kindling.kernel.modules import apply_modules

    return apply_modules(host, settings)


# outputs: the files of kindling/kernel/{sysctl,modules}.py (the values under /proc/sys
# and /sys are the running kernel's, not files to collect)
SYSCTL = Applier(name="sysctl", prefixes=("kernel.sysctl",), apply=_sysctl, check=_sysctl_check,
                 outputs=("/etc/sysctl.d/90-kindling.conf",))
LOCKDOWN = Applier(name="lockdown", prefixes=("kernel.lockdown",), apply=_lockdown, check=_lockdown_check)
MODULES = Applier(name="kernel-modules", prefixes=("kernel.modules",), apply=_modules, check=_modules_check,
                  outputs=("/etc/modprobe.d/90-kindling.conf", "/etc/modules-load.d/90-kindling.conf"))
