"""`kernel.sysctl`: persisted in a sysctl.d drop-in and written live (corndog `sysctl`).

The drop-in (`/etc/sysctl.d/90-kindling.conf`, `key = value`, sorted) is what
systemd-sysctl replays on every boot; the live write goes to `/proc/sys/<key with . as />`
through the Host, so a root prefix keeps it off this machine. A key the running kernel
does not have is kept in the drop-in and reported, as corndog warns and goes on.

Keys are checked before anything is written: a key is `.`-separated segments of
`[A-Za-z0-9_*:@+-]`; `/`, blanks, empty segments and `..` are refused, because the key
becomes a path below `/proc/sys` (the slash form `net/ipv4/...` of sysctl(8) is not
accepted: one spelling, one path). `*` is a systemd-sysctl glob and is expanded live.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kindling.dotted import format_key
from kindling.errors import HostError, SettingsError
from kindling.host import Host
from kindling.settings.types import Invalid, sysctl_key

__all__ = ["DROPIN", "apply_sysctls", "check_sysctl_key", "check_sysctls", "proc_path", "render_dropin"]

DROPIN = "/etc/sysctl.d/90-kindling.conf"
_HEADER = "# Written by Kindling from settings.kernel.sysctl; edit the settings, not this file.\n"


def _key_name(key: str) -> str:
    return format_key(("settings", "kernel", "sysctl", key))


def check_sysctl_key(key: str) -> str:
    """The key, or `SettingsError` naming it (never its value)."""
    try:
        return sysctl_key(key)
    except Invalid as exc:
        raise SettingsError(_key_name(str(key)), exc.rule) from None


def _check_value(key: str, value: Any) -> str:
    if not isinstance(value, str) or "\n" in value or "\r" in value or "\0" in value:
        raise SettingsError(_key_name(key), "sysctl values must be single-line strings")
    return value.strip()


def proc_path(key: str) -> str:
    """`/proc/sys/...` for a checked key (sysctl(8): dots separate the levels)."""
    return "/proc/sys/" + check_sysctl_key(key).replace(".", "/")


def render_dropin(sysctls: Mapping[str, str]) -> str:
    return _HEADER + "".join(f"{k} = {v}\n" for k, v in sorted(sysctls.items()))


def _live_targets(host: Host, key: str) -> list[str]:
    path = proc_path(key)
    if "*" not in key:
        return [path] if host.exists(path) else []
    base = host.path("/proc/sys")
    rel = path.removeprefix("/proc/sys/")
    return sorted("/proc/sys/" + str(p.relative_to(base)) for p in base.glob(rel) if p.is_file())


def check_sysctls(settings: dict[str, Any]) -> dict[str, str]:
    """Every key and value checked (the commit check and the applier share it)."""
    raw = (settings.get("kernel") or {}).get("sysctl") or {}
    return {check_sysctl_key(k): _check_value(k, v) for k, v in raw.items()}


def apply_sysctls(host: Host, settings: dict[str, Any]) -> list[str]:
    """Check every key and value, then write the drop-in, then the live values."""
    wanted = check_sysctls(settings)
    done: list[str] = []
    if not wanted:
        if host.remove(DROPIN):
            done.append(f"removed {DROPIN}")
        return done
    if host.write_file(DROPIN, render_dropin(wanted)):
        done.append(f"wrote {DROPIN}")
    for key, value in sorted(wanted.items()):
        targets = _live_targets(host, key)
        if not targets:
            done.append(f"{key}: not on this kernel (kept in {DROPIN})")
            continue
        for target in targets:
            try:
                current = (host.read_optional(target) or "").split()
            except HostError:  # write-only sysctls (vm.drop_caches) cannot be read back
                current = []
            if current == value.split():
                continue
            host.write_in_place(target, value + "\n")
            done.append(f"set {target.removeprefix('/proc/sys/').replace('/', '.')}")
    return done
