"""The `motd` applier: `settings.motd` → `/etc/motd` (issue 2's one real applier)."""

from __future__ import annotations

from typing import Any

from kindling.appliers import Applier
from kindling.host import Host

__all__ = ["APPLIER", "apply_motd"]

MOTD_PATH = "/etc/motd"


def apply_motd(host: Host, settings: dict[str, Any]) -> list[str]:
    """Write the message of the day; an unset motd leaves the file alone."""
    motd = settings.get("motd")
    if not isinstance(motd, str):
        return []
    text = motd if motd.endswith("\n") or not motd else motd + "\n"
    return [host.did("write", MOTD_PATH)] if host.write_file(MOTD_PATH, text, mode=0o644) else []


APPLIER = Applier(name="motd", prefixes=("motd",), apply=apply_motd, outputs=(MOTD_PATH,))
