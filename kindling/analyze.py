"""`kindling analyze [--svg FILE]`: the last boot's timeline, as text or a Gantt chart.

Reads `/run/kindling/timeline.json` (written by `kindling boot`), like
`systemd-analyze blame` / `plot` do for units.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from kindling.boot import TIMELINE_PATH
from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.errors import InputError, NotFoundError
from kindling.nesting import loads_json

if TYPE_CHECKING:
    from kindling.systemd_times import BootPhases

__all__ = ["build_parser", "main", "render_svg", "render_systemd", "render_text"]

def render_text(timeline: dict[str, Any]) -> str:
    stages = timeline.get("stages", [])
    total = max((s["start_ms"] + s["duration_ms"] for s in stages), default=0.0)
    lines = [f"boot on {timeline.get('platform')}: {len(stages)} stages, {total:.1f} ms"
             f"{' (plan)' if timeline.get('plan') else ''}"]
    for s in sorted(stages, key=lambda s: -s["duration_ms"]):
        detail = f" ({s['detail']})" if s.get("detail") else ""
        lines.append(f"{s['duration_ms']:9.1f} ms  {s['name']:<24} {s['status']}{detail}")
    return "\n".join(lines) + "\n"


def render_svg(timeline: dict[str, Any], phases: BootPhases | None = None, systemd_note: str = "") -> str:
    """A Gantt chart of the stages (kindling/timeline_svg.py), with systemd's band."""
    from kindling.timeline_svg import render

    return render(timeline, phases, systemd_note)


def render_systemd(phases: BootPhases | None, note: str) -> str:
    """`systemd: 1.49 s (kernel) + 5.95 s (userspace) = 7.44 s`, or why it is absent."""
    if phases is None:
        return f"systemd: {note}\n"
    parts = " + ".join(f"{secs:.3f}s ({name})" for name, secs in phases.phases)
    total = f" = {phases.total:.3f}s" if phases.total is not None else ""
    reached = (f"; {phases.target} reached after {phases.target_after:.3f}s in userspace"
               if phases.target and phases.target_after is not None else "")  # fmt: skip
    return f"systemd: {parts}{total}{reached}\n"


def load_timeline(text: str) -> dict[str, Any]:
    try:
        data = loads_json(text, source=TIMELINE_PATH)
    except ValueError:
        raise InputError("not valid JSON", source=TIMELINE_PATH) from None
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        raise InputError("not a Kindling timeline", source=TIMELINE_PATH)
    return data


def check_stages(data: dict[str, Any]) -> None:
    """Each stage has what the text and the chart read: else one clear line, not a traceback.
    (`kindling status` reads the same file leniently, skipping such stages.)"""
    for i, stage in enumerate(data["stages"]):
        if not isinstance(stage, dict):
            raise InputError("not a stage record", source=f"{TIMELINE_PATH}: stages[{i}]")
        for key, kinds in (("name", (str,)), ("status", (str,)), ("start_ms", (int, float)),
                           ("duration_ms", (int, float))):  # fmt: skip
            if not isinstance(stage.get(key), kinds) or isinstance(stage.get(key), bool):
                raise InputError("missing or of the wrong type", source=f"{TIMELINE_PATH}: stages[{i}].{key}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling analyze",
        description="Show the last boot's timeline (/run/kindling/timeline.json, written by "
        "'kindling boot'): each stage, its outcome and its time, as text, JSON or a Gantt chart, with "
        "systemd's firmware, loader, kernel, initrd and userspace times (systemd-analyze time) where systemd runs.")
    parser.add_argument("--svg", metavar="FILE",
                        help="write the timeline as an SVG chart: a time axis, one bar per stage coloured by "
                        "outcome with a legend, failure reasons written out, systemd's boot phases")
    add_common(parser, acts=False)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    text = host.read_optional(TIMELINE_PATH)
    if text is None:
        raise NotFoundError(f"{TIMELINE_PATH}: no timeline yet (run 'kindling boot')")
    timeline = load_timeline(text)
    check_stages(timeline)
    from kindling.systemd_times import read_boot_phases

    phases, note = read_boot_phases(host)
    if args.svg:
        try:
            with open(args.svg, "w", encoding="utf-8") as fh:
                fh.write(render_svg(timeline, phases, note))
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", source=f"--svg {args.svg}") from exc
    if args.json:
        # the envelope's `ok` is this command's; the boot's own verdict is `boot_ok`
        systemd = phases.to_json() if phases is not None else {"absent": note}
        emit_json({"boot_ok": timeline.get("ok"), **{k: v for k, v in timeline.items() if k != "ok"},
                   "systemd": systemd})
    else:
        sys.stdout.write(render_text(timeline) + render_systemd(phases, note))
    return 0
