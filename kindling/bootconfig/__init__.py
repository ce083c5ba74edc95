"""The Linux kernel's bootconfig format: parse, render, initrd footer (DESIGN §5).

Pure functions (no Host): `parse_bootconfig(text, source=)` -> `BootConfig` (ordered
full key -> values, `()` for a key without value), `render_bootconfig(cfg)` (the
canonical one-key-per-line text), `render_compact` (tools/bootconfig's show format),
`render_proc` (/proc/bootconfig's format), `read_footer(data)` / `write_footer(text)`
for the `#BOOTCONFIG` initrd footer. Errors are `BootconfigError` (an `InputError`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kindling.bootconfig.errors import BootconfigError
    from kindling.bootconfig.footer import (
        MAGIC,
        has_footer,
        read_footer,
        split_footer,
        write_footer,
    )
    from kindling.bootconfig.model import (
        MAX_DEPTH,
        MAX_KEY_BYTES,
        MAX_NODES,
        MAX_TEXT_BYTES,
        BootConfig,
    )
    from kindling.bootconfig.parse import parse_bootconfig
    from kindling.bootconfig.render import render_bootconfig, render_compact, render_proc

# Names load on first use (PEP 562): the boot imports this package for its stages
# (kindling/bootconfig/stages.py), and a boot whose stages are unchanged needs none of them.
_WHERE = {
    "BootconfigError": "errors",
    "MAGIC": "footer", "has_footer": "footer", "read_footer": "footer", "split_footer": "footer",
    "write_footer": "footer",
    "MAX_DEPTH": "model", "MAX_KEY_BYTES": "model", "MAX_NODES": "model", "MAX_TEXT_BYTES": "model",
    "BootConfig": "model",
    "parse_bootconfig": "parse",
    "render_bootconfig": "render", "render_compact": "render", "render_proc": "render",
}


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


__all__ = [
    "MAGIC",
    "MAX_DEPTH",
    "MAX_KEY_BYTES",
    "MAX_NODES",
    "MAX_TEXT_BYTES",
    "BootConfig",
    "BootconfigError",
    "has_footer",
    "parse_bootconfig",
    "read_footer",
    "render_bootconfig",
    "render_compact",
    "render_proc",
    "split_footer",
    "write_footer",
]
