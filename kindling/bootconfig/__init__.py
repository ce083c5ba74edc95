"""The Linux kernel's bootconfig format: parse, render, initrd footer (DESIGN §5).

Pure functions (no Host): `parse_bootconfig(text, source=)` -> `BootConfig` (ordered
full key -> values, `()` for a key without value), `render_bootconfig(cfg)` (the
canonical one-key-per-line text), `render_compact` (tools/bootconfig's show format),
`render_proc` (/proc/bootconfig's format), `read_footer(data)` / `write_footer(text)`
for the `#BOOTCONFIG` initrd footer. Errors are `BootconfigError` (an `InputError`).
"""

from __future__ import annotations

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
