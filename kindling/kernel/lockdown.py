"""`kernel.lockdown`: raised through securityfs, never lowered (corndog `lockdown`).

The kernel accepts only a higher level in `/sys/kernel/security/lockdown` (it shows
`none [integrity] confidentiality`, the current level in brackets); going down takes a
reboot with a lower `lockdown=` on the kernel command line. So the applier writes only
upward, and a commit that asks for a lower level than both the live setting and the
running kernel is refused before anything is stored (`check_lockdown`): the user gets
"needs a reboot" instead of a value that silently never takes effect. At boot (the
setting arrives with user data, nothing was live) a lower value is reported, not fatal.
"""

from __future__ import annotations

from typing import Any

from kindling.errors import SettingsError
from kindling.host import Host

__all__ = ["LEVELS", "LOCKDOWN", "apply_lockdown", "check_lockdown", "current_level"]

LOCKDOWN = "/sys/kernel/security/lockdown"
LEVELS = ("none", "integrity", "confidentiality")
_KEY = "settings.kernel.lockdown"


def current_level(host: Host) -> str | None:
    """The bracketed level in securityfs, or None without the lockdown LSM.

    A file holding just one level word (a tree planted under a root prefix, after
    Kindling wrote to it) reads as that level."""
    text = host.read_optional(LOCKDOWN)
    if text is None:
        return None
    words = text.split()
    for word in words:
        if word.startswith("[") and word.endswith("]") and word[1:-1] in LEVELS:
            return word[1:-1]
    return words[0] if len(words) == 1 and words[0] in LEVELS else None


def _wanted(settings: dict[str, Any]) -> str | None:
    value = (settings.get("kernel") or {}).get("lockdown")
    if value is None:
        return None
    if value not in LEVELS:
        raise SettingsError(_KEY, "must be one of " + ", ".join(LEVELS))
    return str(value)


def _reboot_message(kernel: str, wanted: str) -> str:
    return (
        f"the running kernel is at {kernel}; lowering to {wanted} needs a reboot "
        f"(boot with lockdown={wanted} on the kernel command line)"
    )


def check_lockdown(host: Host, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Refuse a run-time commit that lowers lockdown below the live value and the kernel."""
    wanted, previous = _wanted(after), _wanted(before)
    kernel = current_level(host)
    if wanted is None or previous is None or kernel is None:
        return
    if LEVELS.index(wanted) < LEVELS.index(previous) and LEVELS.index(wanted) < LEVELS.index(kernel):
        raise SettingsError(_KEY, _reboot_message(kernel, wanted))


def apply_lockdown(host: Host, settings: dict[str, Any]) -> list[str]:
    wanted = _wanted(settings)
    if wanted is None:
        return []
    kernel = current_level(host)
    if kernel is None:
        return [f"kernel.lockdown: not applied, this kernel has no lockdown support ({LOCKDOWN})"]
    if LEVELS.index(wanted) > LEVELS.index(kernel):
        host.write_in_place(LOCKDOWN, wanted)
        return [f"raised kernel lockdown {kernel} -> {wanted}"]
    if LEVELS.index(wanted) < LEVELS.index(kernel):
        return [f"kernel.lockdown: {_reboot_message(kernel, wanted)}"]
    return []
