"""`kindling analyze [--svg FILE]`: the last boot's timeline, as text or a Gantt chart.

Reads `/run/kindling/timeline.json` (written by `kindling boot`), like
`systemd-analyze blame` / `plot` do for units.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any
from xml.sax.saxutils import escape

from kindling.boot import TIMELINE_PATH
from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.errors import InputError, NotFoundError
from kindling.nesting import loads_json

__all__ = ["build_parser", "main", "render_svg", "render_text"]

_COLOURS = {"ok": "#4caf50", "skipped": "#9e9e9e", "failed": "#e53935"}


def render_text(timeline: dict[str, Any]) -> str:
    stages = timeline.get("stages", [])
    total = max((s["start_ms"] + s["duration_ms"] for s in stages), default=0.0)
    lines = [f"boot on {timeline.get('platform')}: {len(stages)} stages, {total:.1f} ms"
             f"{' (plan)' if timeline.get('plan') else ''}"]
    for s in sorted(stages, key=lambda s: -s["duration_ms"]):
        detail = f" ({s['detail']})" if s.get("detail") else ""
        lines.append(f"{s['duration_ms']:9.1f} ms  {s['name']:<24} {s['status']}{detail}")
    return "\n".join(lines) + "\n"


def render_svg(timeline: dict[str, Any]) -> str:
    """A Gantt chart: one bar per stage at its start, width by its duration."""
    stages = timeline.get("stages", [])
    total = max((s["start_ms"] + s["duration_ms"] for s in stages), default=1.0) or 1.0
    width, label_w, row_h = 900, 220, 24
    scale = (width - label_w - 80) / total
    height = row_h * (len(stages) + 2)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<text x="8" y="16">kindling boot on {escape(str(timeline.get("platform")))}: '
        f"{total:.1f} ms</text>",
    ]
    for i, s in enumerate(stages):
        y = row_h * (i + 1) + 4
        x = label_w + s["start_ms"] * scale
        w = max(s["duration_ms"] * scale, 1.0)
        colour = _COLOURS.get(s["status"], "#2196f3")
        out.append(f'<text x="8" y="{y + 14}">{escape(s["name"])}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
                   f"<title>{escape(s['status'])}: {escape(s.get('detail', ''))}</title></rect>")
        out.append(f'<text x="{x + w + 4:.1f}" y="{y + 14}">{s["duration_ms"]:.1f} ms</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def load_timeline(text: str) -> dict[str, Any]:
    try:
        data = loads_json(text, source=TIMELINE_PATH)
    except ValueError:
        raise InputError("not valid JSON", source=TIMELINE_PATH) from None
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        raise InputError("not a Kindling timeline", source=TIMELINE_PATH)
    return data


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling analyze",
        description="Show the last boot's timeline (/run/kindling/timeline.json, written by "
        "'kindling boot'): each stage, its outcome and its time, as text, JSON or a Gantt chart.")
    parser.add_argument("--svg", metavar="FILE", help="write a Gantt chart of the stages")
    add_common(parser, acts=False)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    text = host.read_optional(TIMELINE_PATH)
    if text is None:
        raise NotFoundError(f"{TIMELINE_PATH}: no timeline yet (run 'kindling boot')")
    timeline = load_timeline(text)
    if args.svg:
        try:
            with open(args.svg, "w", encoding="utf-8") as fh:
                fh.write(render_svg(timeline))
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", source=f"--svg {args.svg}") from exc
    if args.json:
        # the envelope's `ok` is this command's; the boot's own verdict is `boot_ok`
        emit_json({"boot_ok": timeline.get("ok"), **{k: v for k, v in timeline.items() if k != "ok"}})
    else:
        sys.stdout.write(render_text(timeline))
    return 0
