"""systemd's own boot figures (`systemd-analyze time`), to set Kindling's stages in context.

`systemd-analyze time` prints, once the boot has finished (systemd's
src/analyze/analyze-time-data.c, `pretty_boot_time`):

    Startup finished in 4.160s (firmware) + 2.796s (loader) + 5.831s (kernel) + 18.885s (userspace) = 31.673s
    graphical.target reached after 18.850s in userspace.

Each phase is there only when systemd knows it (no firmware/loader without EFI, no
initrd phase without one, only userspace in a container, where the `= total` is left
out too). Before the boot finishes it exits 1 with "Bootup is not yet finished"; that is
said, never guessed. `parse_analyze_time` is pure; `read_boot_phases` runs the program
through the Host (read-only), so tests give it a recorded output.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kindling.errors import InputError
from kindling.record import record

if TYPE_CHECKING:
    from kindling.host import Host

__all__ = ["SOURCE", "BootPhases", "parse_analyze_time", "parse_timespan", "read_boot_phases"]

SOURCE = "systemd-analyze time"

# format_timespan()'s units, longest names first so "min" and "ms" win over "m"/"s".
_UNITS = {"y": 31557600.0, "month": 2629800.0, "w": 604800.0, "d": 86400.0, "h": 3600.0,
          "min": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}  # fmt: skip
_UNIT_RE = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_TERM = rf"\d+(?:\.\d+)?(?:{_UNIT_RE})"
_SPAN = rf"{_TERM}(?: {_TERM})*"
_PHASE = re.compile(rf"({_SPAN}) \(([a-z ]+)\)")
_STARTUP = re.compile(r"Startup finished in (.+?)\s*$")
_TOTAL = re.compile(rf"^(.*?) = ({_SPAN})$")
_REACHED = re.compile(rf"^(\S+) reached after ({_SPAN}) in userspace\.?$")
_NEVER = re.compile(r"^(\S+) was never reached\.?$")
_TERM_SPLIT = re.compile(rf"(\d+(?:\.\d+)?)({_UNIT_RE})")


@record(frozen=True)
class BootPhases:
    """The phases systemd reports, in boot order, in seconds; `target` is the default
    target and the userspace time it took to reach it (None when not reached)."""

    phases: tuple[tuple[str, float], ...]
    total: float | None = None
    target: str | None = None
    target_after: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"phases_s": dict(self.phases), "total_s": self.total,
                "target": self.target, "target_reached_s": self.target_after}  # fmt: skip


def parse_timespan(text: str) -> float:
    """`1min 5.947s` -> 65.947 (systemd's format_timespan, read back)."""
    terms = text.split()
    if not terms:
        raise InputError(f"not a time span: {text!r}", source=SOURCE)
    total = 0.0
    for term in terms:
        m = _TERM_SPLIT.fullmatch(term)
        if m is None:
            raise InputError(f"not a time span: {text!r}", source=SOURCE)
        total += float(m.group(1)) * _UNITS[m.group(2)]
    return total


def parse_analyze_time(text: str) -> BootPhases:
    """The figures in `systemd-analyze time`'s output; InputError when it is not that."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = _STARTUP.fullmatch(lines[0]) if lines else None
    if first is None:
        raise InputError("no 'Startup finished in' line", source=SOURCE)
    body, total = first.group(1), None
    m = _TOTAL.fullmatch(body)
    if m is not None:
        body, total = m.group(1), parse_timespan(m.group(2))
    phases: list[tuple[str, float]] = []
    for part in body.split(" + "):
        p = _PHASE.fullmatch(part.strip())
        if p is None:
            raise InputError(f"unrecognised phase {part.strip()!r}", source=SOURCE)
        phases.append((p.group(2), parse_timespan(p.group(1))))
    target, after = None, None
    for line in lines[1:]:
        if r := _REACHED.fullmatch(line):
            target, after = r.group(1), parse_timespan(r.group(2))
        elif n := _NEVER.fullmatch(line):
            target = n.group(1)
    return BootPhases(tuple(phases), total, target, after)


def read_boot_phases(host: Host) -> tuple[BootPhases | None, str]:
    """(the figures, "") when systemd runs and has finished booting, else (None, why)."""
    from kindling.errors import CommandError
    from kindling.unit_restart import systemd_runs

    if not systemd_runs(host):
        return None, "not running under this root (/run/systemd/system)"
    try:
        done = host.run(["systemd-analyze", "time"], read_only=True, check=False, timeout=30, limit=64 * 1024)
    except CommandError as exc:
        return None, f"{SOURCE}: {exc}"
    err = done.stderr.decode("utf-8", "replace")
    if "Bootup is not yet finished" in err:
        return None, "bootup is not yet finished (systemd-analyze time)"
    if done.returncode != 0:
        first = next((line.strip() for line in err.splitlines() if line.strip()), "no output")
        return None, f"{SOURCE}: exit {done.returncode}: {first}"
    try:
        return parse_analyze_time(done.text), ""
    except InputError as exc:
        return None, str(exc)
