"""`kernel.modules.<name>.{allowed,autoload}`: module policy files (Bottlerocket's
modprobe.d and modules-load.d templates).

`allowed = false` becomes `install <name> /bin/true` in `/etc/modprobe.d/90-kindling.conf`
(modprobe then "loads" nothing; a module already loaded stays, as upstream notes);
`autoload = true` lists the module in `/etc/modules-load.d/90-kindling.conf`, unless it
is also disallowed. systemd-modules-load is restarted only when its file changed.
Names are checked before any file is written: `[A-Za-z0-9_-]{1,64}`, so a name with
`/` or a blank can never reach a modprobe line.
"""

from __future__ import annotations

import re
from typing import Any

from kindling.dotted import format_key
from kindling.errors import SettingsError
from kindling.host import Host
from kindling.unit_restart import restart_units

__all__ = ["MODPROBE_CONF", "MODULES_LOAD_CONF", "apply_modules", "render_modules"]

MODPROBE_CONF = "/etc/modprobe.d/90-kindling.conf"
MODULES_LOAD_CONF = "/etc/modules-load.d/90-kindling.conf"
_NAME = r"[A-Za-z0-9_-]{1,64}"
_HEADER = "# Written by Kindling from settings.kernel.modules; edit the settings, not this file.\n"


def _policy(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    modules = (settings.get("kernel") or {}).get("modules") or {}
    for name, entry in modules.items():
        if not isinstance(name, str) or not re.fullmatch(_NAME, name):
            raise SettingsError(
                format_key(("settings", "kernel", "modules", str(name))),
                "not a valid kernel module name (letters, digits, '_' and '-', at most 64)",
            )
        for field in ("allowed", "autoload"):
            if field in (entry or {}) and not isinstance(entry[field], bool):
                raise SettingsError(
                    format_key(("settings", "kernel", "modules", name, field)), "expected a boolean"
                )
    return {name: dict(entry or {}) for name, entry in modules.items()}


def render_modules(settings: dict[str, Any]) -> tuple[str | None, str | None]:
    """(modprobe.d text, modules-load.d text); None where there is nothing to say."""
    policy = _policy(settings)
    blocked = sorted(n for n, e in policy.items() if e.get("allowed") is False)
    autoload = sorted(n for n, e in policy.items() if e.get("autoload") is True and e.get("allowed") is not False)
    modprobe = _HEADER + "".join(f"install {n} /bin/true\n" for n in blocked) if blocked else None
    load = _HEADER + "".join(f"{n}\n" for n in autoload) if autoload else None
    return modprobe, load


def _sync(host: Host, path: str, text: str | None) -> bool:
    if text is None:
        return host.remove(path)
    return host.write_file(path, text)


def apply_modules(host: Host, settings: dict[str, Any]) -> list[str]:
    modprobe, load = render_modules(settings)
    done: list[str] = []
    if _sync(host, MODPROBE_CONF, modprobe):
        done.append(("wrote " if modprobe else "removed ") + MODPROBE_CONF)
    if _sync(host, MODULES_LOAD_CONF, load):
        done.append(("wrote " if load else "removed ") + MODULES_LOAD_CONF)
        done += restart_units(host, ["systemd-modules-load.service"])
    return done
