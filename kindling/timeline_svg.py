"""The boot timeline as an SVG Gantt chart (`kindling analyze --svg FILE`).

Pure: a timeline (the JSON `kindling boot` writes) and, where systemd is there, its own
boot phases in; SVG text out. Drawn to be read without hovering, as a picture in a
ticket: white background, a title with the boot's date (UTC) and platform, systemd's
firmware/loader/kernel/initrd/userspace band, a time axis with round ticks, one bar per
stage coloured by outcome with a legend, and each failed stage's reason written beside
its bar (reasons are one redacted line already; they are only shortened here). Every
bar also carries a `<title>` tooltip, as `systemd-analyze plot` does.
"""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from kindling.systemd_times import BootPhases

__all__ = ["OUTCOME_COLOURS", "axis_ticks", "outcome", "render", "tick_labels"]

# outcome -> (fill, legend label)
OUTCOME_COLOURS: dict[str, tuple[str, str]] = {
    "ok": ("#a5d6a7", "ok, nothing to change"),
    "changed": ("#2e7d32", "ok, changed the node"),
    "skipped": ("#bdbdbd", "skipped"),
    "failed": ("#d32f2f", "failed"),
    "planned": ("#64b5f6", "planned (stopped at a request or wait)"),
}
_OTHER = "#8d6e63"
_PHASE_COLOURS = {"firmware": "#ffb74d", "loader": "#fff176", "kernel": "#9575cd",
                  "initrd": "#4fc3f7", "soft reboot": "#f06292", "userspace": "#4db6ac"}  # fmt: skip

WIDTH, LABEL_W, RIGHT_PAD, ROW_H, CHAR_W = 1000, 210, 90, 22, 6.6
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def outcome(stage: dict[str, Any]) -> str:
    """ok / changed / skipped / failed / planned: "changed" is an ok stage that acted."""
    status = str(stage.get("status", ""))
    if status == "ok" and stage.get("actions"):
        return "changed"
    return status


def axis_ticks(total_ms: float, target: int = 8) -> tuple[float, list[float]]:
    """(step, ticks) with a 1/2/5 x 10^k ms step, about `target` ticks from 0 past total."""
    span = max(total_ms, 1e-3)
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    count = math.ceil(span / step - 1e-9)
    return step, [round(i * step, 9) for i in range(count + 1)]


def tick_labels(step: float, ticks: list[float]) -> list[str]:
    """One unit for the whole axis: seconds once it reaches 2 s, else ms; as many
    decimals as the 1/2/5 x 10^k step needs (`0.5 s`, `20 ms`, `0.2 ms`)."""
    div, unit = (1000.0, "s") if ticks and ticks[-1] >= 2000 else (1.0, "ms")
    decimals = max(0, -math.floor(math.log10(step / div) + 1e-9))
    return [f"{t / div:.{decimals}f} {unit}" for t in ticks]


def _clean(text: object) -> str:
    """One line, characters XML allows, escaped for text content."""
    return escape(" ".join(_XML_BAD.sub("?", str(text)).split()))


def _attr(text: object) -> str:
    return quoteattr(" ".join(_XML_BAD.sub("?", str(text)).split()))


def _shorten(text: str, width_px: float, char_w: float = CHAR_W) -> str:
    room = max(int(width_px / char_w), 12)
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"


def _reason_lines(text: str, bar_x: float, most: int = 2) -> list[tuple[float, str]]:
    """A failure reason under its bar: from the bar's start when it fits there, else from
    the chart's left edge; wrapped at words onto `most` lines, the last one shortened."""
    words = " ".join(text.split())
    x = bar_x if len(words) * CHAR_W <= WIDTH - bar_x - 8 else float(LABEL_W)
    room = int((WIDTH - x - 8) / CHAR_W)
    lines: list[str] = []
    while words and len(lines) < most - 1 and len(words) > room:
        cut = words.rfind(" ", 0, room + 1)
        cut = cut if cut > room // 2 else room
        lines.append(words[:cut].rstrip())
        words = words[cut:].lstrip()
    lines.append(_shorten(words, WIDTH - x - 8))
    return [(x, line) for line in lines if line]


def _seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def _title(timeline: dict[str, Any], total_ms: float, failed: int) -> str:
    started = timeline.get("started")
    when = (time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(started)))
            if isinstance(started, (int, float)) else "date unknown")  # fmt: skip
    verdict = "plan" if timeline.get("plan") else ("ok" if not failed else f"{failed} failed")
    stages = len(timeline.get("stages", []))
    return f"kindling boot on {timeline.get('platform')}, {when}: {stages} stages, {total_ms:.1f} ms ({verdict})"


def _systemd_band(phases: BootPhases | None, note: str, y: int, x0: float, width: float) -> list[str]:
    """systemd's phases as one stacked bar across the chart (its own scale: seconds)."""
    if phases is None:
        return [f'<text x="8" y="{y + 14}" fill="#616161">systemd: {_clean(note)}</text>']
    out = [""]  # the label, once the total is known
    whole = sum(s for _, s in phases.phases) or 1.0
    x = x0
    for name, secs in phases.phases:
        w = width * secs / whole
        fill = _PHASE_COLOURS.get(name, _OTHER)
        out.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1.0):.1f}" height="{ROW_H - 4}" fill="{fill}" '
                   f'stroke="#ffffff"><title>{_clean(name)}: {_seconds(secs)}</title></rect>')
        label = f"{name} {_seconds(secs)}"
        if len(label) * CHAR_W < w - 4:
            out.append(f'<text x="{x + 4:.1f}" y="{y + 13}">{_clean(label)}</text>')
        x += w
    total = phases.total if phases.total is not None else whole
    out[0] = f'<text x="8" y="{y + 14}">systemd: {_seconds(total)}</text>'
    summary = " + ".join(f"{_seconds(s)} ({n})" for n, s in phases.phases)
    if phases.target and phases.target_after is not None:
        summary += f"; {phases.target} reached after {_seconds(phases.target_after)} in userspace"
    summary = _shorten(summary, WIDTH - x0 - 8, 5.9)
    out.append(f'<text x="{x0:.1f}" y="{y + ROW_H + 10}" font-size="11" fill="#424242">{_clean(summary)}</text>')
    return out


def _axis(ticks: list[float], step: float, scale: float, top: int, bottom: int) -> list[str]:
    """Tick labels above the rows and grid lines down through them."""
    out = []
    for t, label in zip(ticks, tick_labels(step, ticks), strict=True):
        x = LABEL_W + t * scale
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" font-size="11">{label}</text>')
    right = LABEL_W + ticks[-1] * scale
    out.append(f'<line x1="{LABEL_W}" y1="{top - 4}" x2="{right:.1f}" y2="{top - 4}" stroke="#9e9e9e"/>')
    return out


def _stage_rows(stages: list[dict[str, Any]], scale: float, y: int) -> tuple[list[str], int]:
    """One bar per stage; a failed stage's reason is written on the line under its bar."""
    out: list[str] = []
    for s in stages:
        kind = outcome(s)
        fill = OUTCOME_COLOURS.get(kind, (_OTHER, kind))[0]
        x = LABEL_W + float(s["start_ms"]) * scale
        w = max(float(s["duration_ms"]) * scale, 2.0)
        tip = f"{s.get('name')}: {s.get('status')}"
        if s.get("detail"):
            tip += f": {s['detail']}"
        if s.get("actions"):
            tip += f" ({len(s['actions'])} changes)"
        out.append(f'<text x="8" y="{y + 14}">{_clean(s.get("name"))}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{ROW_H - 6}" fill="{fill}" '
                   f"class={_attr(kind)}><title>{_clean(tip)}</title></rect>")
        out.append(f'<text x="{x + w + 4:.1f}" y="{y + 14}" font-size="11">{float(s["duration_ms"]):.1f} ms</text>')
        y += ROW_H
        if s.get("status") == "failed":
            for tx, line in _reason_lines(f"failed: {s.get('detail') or 'no reason given'}", x):
                out.append(f'<text x="{tx:.1f}" y="{y + 12}" fill="#b71c1c" class="reason">{_clean(line)}</text>')
                y += ROW_H - 4
            y += 4
    return out, y


def _legend(kinds: list[str], y: int) -> list[str]:
    out, x = [], 8.0
    for k in kinds:
        fill, label = OUTCOME_COLOURS.get(k, (_OTHER, k))
        out.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{fill}"/>')
        out.append(f'<text x="{x + 16:.1f}" y="{y + 10}" font-size="11">{_clean(label)}</text>')
        x += 16 + len(label) * CHAR_W + 18
    return out


def render(timeline: dict[str, Any], phases: BootPhases | None = None, systemd_note: str = "") -> str:
    """The chart. Without `phases` and without a note, no systemd band is drawn."""
    stages = [s for s in timeline.get("stages", []) if isinstance(s, dict)]
    total_ms = max((float(s["start_ms"]) + float(s["duration_ms"]) for s in stages), default=0.0)
    step, ticks = axis_ticks(total_ms)
    chart_w = WIDTH - LABEL_W - RIGHT_PAD
    scale = chart_w / ticks[-1] if ticks[-1] else 1.0
    failed = sum(1 for s in stages if s.get("status") == "failed")

    title = _clean(_title(timeline, total_ms, failed))
    body = [f'<text x="8" y="20" font-size="14" font-weight="bold">{title}</text>']
    y = 34
    if phases is not None or systemd_note:
        body += _systemd_band(phases, systemd_note, y, LABEL_W, chart_w)
        y += ROW_H + (18 if phases is not None else 0)
    rows_top = y + 22
    rows, y = _stage_rows(stages, scale, rows_top)
    body += _axis(ticks, step, scale, rows_top, y) + rows
    kinds = [k for k in OUTCOME_COLOURS if k != "planned" or timeline.get("plan")]
    kinds += sorted({outcome(s) for s in stages} - set(OUTCOME_COLOURS))
    body += _legend(kinds, y + 16)
    height = y + 40
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    return "\n".join([*head, *body, "</svg>"]) + "\n"
