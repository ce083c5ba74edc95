"""crashkernel= values: the kernel's syntax, and how much they reserve for a memory size.

Syntax (Documentation/admin-guide/kdump/kdump.rst, kernel/crash_reserve.c):
`size[@offset]`, or ranges `start-[end]:size[,start-[end]:size…][@offset]`, with an
optional `,high` / `,low` suffix; sizes use memparse suffixes K, M, G, T, P, E. A range
matches when start <= RAM < end (an open end is unbounded), the first match wins,
and nothing is reserved when no range matches.

The default table, `1G-4G:192M,4G-64G:256M,64G-:512M`, is the x86_64 default of
RHEL 9 / Fedora kexec-tools (`kdumpctl get-default-crashkernel`), chosen over
Bottlerocket's fixed `2G-:256M` because:
- it scales: the crash kernel's needs grow with RAM (page tables for the
  makedumpfile bitmap: ~64 MiB more per TiB) and with device count, so a flat 256M
  fails to capture on large hosts (RHEL raises it to 512M from 64G) while
- small nodes pay less: 192M from 1 GiB instead of nothing below 2 GiB and 256M
  (12.5 % of RAM) at 2 GiB; a 1 GiB node still gets a usable dump target; and
- it is the table the most-deployed kdump stack ships and tests on real hardware,
  with makedumpfile `-d 31` in the crash kernel, which is exactly what `capture` runs.
Under 1 GiB nothing is reserved: a crash kernel plus makedumpfile does not fit
reliably in what such a node can spare. `settings.kdump.crashkernel` overrides it.
"""

from __future__ import annotations

import re

from kdump.errors import CrashkernelError
from kindling.record import record

__all__ = [
    "DEFAULT_CRASHKERNEL",
    "Crashkernel",
    "format_bytes",
    "parse_crashkernel",
    "parse_size",
]

DEFAULT_CRASHKERNEL = "1G-4G:192M,4G-64G:256M,64G-:512M"

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50,
          "E": 1 << 60}
_SIZE = r"([0-9]+)([KMGTPE]?)"  # compiled on first use (re caches it), as every pattern a boot may skip


def parse_size(text: str, *, what: str = "size") -> int:
    """memparse(): digits with an optional binary suffix."""
    m = re.fullmatch(_SIZE, text, re.IGNORECASE)
    if not m:
        raise CrashkernelError(f"settings.kdump.crashkernel: not a valid {what}")
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


@record(frozen=True)
class Crashkernel:
    """A parsed crashkernel= value: (start, end or None, size) ranges or a fixed size."""

    text: str
    ranges: tuple[tuple[int, int | None, int], ...]
    offset: int | None = None
    placement: str | None = None  # "high" | "low"

    def reserve_for(self, memory_bytes: int) -> int:
        """Bytes the kernel reserves on a machine with `memory_bytes` of RAM."""
        for start, end, size in self.ranges:
            if memory_bytes >= start and (end is None or memory_bytes < end):
                return size if size < memory_bytes else 0
        return 0


def parse_crashkernel(text: str) -> Crashkernel:
    """Parse a crashkernel= value; `CrashkernelError` (never echoing it) when invalid."""
    body, placement = text, None
    for suffix in (",high", ",low"):
        if body.endswith(suffix):
            body, placement = body[: -len(suffix)], suffix[1:]
    body, at, off = body.partition("@")
    offset = parse_size(off, what="offset") if at else None
    if ":" not in body:
        size = parse_size(body)
        return Crashkernel(text, ((0, None, size),), offset, placement)
    ranges: list[tuple[int, int | None, int]] = []
    for part in body.split(","):
        span, colon, size_text = part.partition(":")
        start_text, dash, end_text = span.partition("-")
        if not colon or not dash:
            raise CrashkernelError("settings.kdump.crashkernel: ranges are start-[end]:size")
        start = parse_size(start_text, what="range start")
        end = parse_size(end_text, what="range end") if end_text else None
        if end is not None and end <= start:
            raise CrashkernelError("settings.kdump.crashkernel: a range ends before it starts")
        if ranges and (ranges[-1][1] is None or start < (ranges[-1][1] or 0)):
            raise CrashkernelError("settings.kdump.crashkernel: ranges overlap or are unsorted")
        ranges.append((start, end, parse_size(size_text)))
    return Crashkernel(text, tuple(ranges), offset, placement)


def format_bytes(n: int) -> str:
    """`256 MiB`, `1.5 GiB` — for messages."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"
