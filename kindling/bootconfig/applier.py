"""The `bootconfig` applier (prefix `boot`), registered apart from its work so loading
the appliers on every commit does not import the bootconfig package (DESIGN §8)."""

from __future__ import annotations

from typing import Any

from kindling.appliers import Applier
from kindling.host import Host

__all__ = ["APPLIER"]


def _apply(host: Host, settings: dict[str, Any]) -> list[str]:
    from kindling.bootconfig.service import apply_boot_settings

    return apply_boot_settings(host, settings)


APPLIER = Applier(name="bootconfig", prefixes=("boot",), apply=_apply,
                  outputs=("/var/lib/kindling/bootconfig.data", "/var/lib/kindling/bootloader.json"))
