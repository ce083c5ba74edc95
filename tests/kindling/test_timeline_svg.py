"""The SVG timeline: read back as XML, drawn by a real SVG consumer, and from the CLI.

`rsvg-convert` (librsvg, what GNOME and many wikis render SVG with) turns the chart into
a PNG; a small stdlib decoder reads the pixels back, so the test sees what a reader
sees: a white page, and each bar in its outcome's colour where the SVG puts it.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import pytest

from kindling.systemd_times import parse_analyze_time
from kindling.timeline_svg import OUTCOME_COLOURS, axis_ticks, outcome, render, tick_labels

NS = {"s": "http://www.w3.org/2000/svg"}
REPO = Path(__file__).resolve().parents[2]
KINDLING = str(Path(sys.executable).with_name("kindling"))
REASON = ("settings.boot.kernel-parameters: not a list of strings (user data at "
          "/var/lib/kindling/user-data.toml) " + "and more words " * 20)  # fmt: skip
UEFI = ("Startup finished in 4.160s (firmware) + 2.796s (loader) + 1.831s (kernel) + 1.200s (initrd) + "
        "8.885s (userspace) = 18.872s \ngraphical.target reached after 8.850s in userspace.\n")  # fmt: skip


def timeline(**extra: Any) -> dict[str, Any]:
    stages = [
        {"name": "growpart", "status": "skipped", "detail": "no partition", "start_ms": 0.0, "duration_ms": 0.7,
         "actions": []},
        {"name": "early-boot-config", "status": "ok", "detail": "3 providers", "start_ms": 1.0, "duration_ms": 180.0,
         "actions": ["write /etc/hostname (12 bytes, mode 0644)"]},
        {"name": "boot-settings", "status": "failed", "detail": REASON, "start_ms": 181.0, "duration_ms": 40.0,
         "actions": []},
        {"name": "apply-settings", "status": "ok", "detail": "", "start_ms": 221.0, "duration_ms": 56.8,
         "actions": []},
    ]  # fmt: skip
    return {"platform": "metal", "plan": False, "started": 1796336036.8, "ok": False, "stages": stages, **extra}


def texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(f"{{{NS['s']}}}text")]


def bars(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{{{NS['s']}}}rect") if r.get("class")]


@pytest.mark.parametrize(("total", "step", "first", "last"), [
    (61.2, 10, "0 ms", "70 ms"), (277.8, 50, "0 ms", "300 ms"), (0.9, 0.2, "0.0 ms", "1.0 ms"),
    (4500, 1000, "0 s", "5 s"), (3000, 500, "0.0 s", "3.0 s"), (12000, 2000, "0 s", "12 s"),
    (1500, 200, "0 ms", "1600 ms"),
])  # fmt: skip
def test_the_axis_has_round_ticks(total: float, step: float, first: str, last: str) -> None:
    got_step, ticks = axis_ticks(total)
    labels = tick_labels(got_step, ticks)
    assert got_step == pytest.approx(step) and ticks[-1] >= total
    assert (labels[0], labels[-1]) == (first, last) and 5 <= len(ticks) <= 11


def test_outcomes() -> None:
    stages = timeline()["stages"]
    assert [outcome(s) for s in stages] == ["skipped", "changed", "failed", "ok"]


def test_the_chart_reads_without_hovering() -> None:
    svg = ET.fromstring(render(timeline()))
    first = svg[0]
    assert first.tag == f"{{{NS['s']}}}rect" and first.get("fill") == "#ffffff"
    assert (first.get("width"), first.get("height")) == (svg.get("width"), svg.get("height"))
    words = texts(svg)
    assert words[0] == "kindling boot on metal, 2026-12-03 22:13:56 UTC: 4 stages, 277.8 ms (1 failed)"
    assert [w for w in words if w.endswith(" ms") and w[0].isdigit()][:7] == [
        "0 ms", "50 ms", "100 ms", "150 ms", "200 ms", "250 ms", "300 ms"]
    assert [b.get("class") for b in bars(svg)] == ["skipped", "changed", "failed", "ok"]
    for bar in bars(svg):
        assert bar.get("fill") == OUTCOME_COLOURS[str(bar.get("class"))][0]
        tip = bar.find("s:title", NS)
        assert tip is not None and (tip.text or "").split(":")[0] in {"growpart", "early-boot-config",
                                                                       "boot-settings", "apply-settings"}
    assert "ok, nothing to change" in words and "ok, changed the node" in words
    assert "skipped" in words and "failed" in words and "planned (stopped at a request or wait)" not in words
    reasons = [t for t in svg.iter(f"{{{NS['s']}}}text") if t.get("class") == "reason"]
    assert len(reasons) == 2  # wrapped at a word onto two lines, the second shortened
    shown = " ".join(t.text or "" for t in reasons)
    assert shown.startswith("failed: settings.boot.kernel-parameters: not a list of strings") and shown.endswith("…")
    assert ("failed: " + " ".join(REASON.split())).startswith(shown[:-1].rstrip()) and 150 < len(shown) < len(REASON)
    assert all(float(t.get("x", 0)) + len(t.text or "") * 6.6 <= 1000 for t in reasons)
    short = ET.fromstring(render(timeline(stages=[{**timeline()["stages"][2], "detail": "exit 1", "start_ms": 0.0}])))
    lone = [t for t in short.iter(f"{{{NS['s']}}}text") if t.get("class") == "reason"]
    assert [(t.get("x"), t.text) for t in lone] == [("210.0", "failed: exit 1")]  # from the bar's start
    tip = bars(svg)[2].find("s:title", NS)
    assert tip is not None and tip.text == "boot-settings: failed: " + " ".join(REASON.split())


def test_odd_characters_and_a_plan() -> None:
    data = timeline(plan=True)
    data["stages"][2]["detail"] = "bad <key> & \x01control\ncharacters"
    data["stages"][3]["status"] = "planned"
    svg = ET.fromstring(render(data))
    reason = next(t for t in svg.iter(f"{{{NS['s']}}}text") if t.get("class") == "reason")
    assert reason.text == "failed: bad <key> & ?control characters"
    words = texts(svg)
    assert words[0].endswith("(plan)") and "planned (stopped at a request or wait)" in words


def test_systemd_band_and_its_absence() -> None:
    svg = ET.fromstring(render(timeline(), parse_analyze_time(UEFI)))
    words = texts(svg)
    assert "systemd: 18.87 s" in words and "userspace 8.88 s" in words
    assert any(w.startswith("4.16 s (firmware) + 2.80 s (loader) + 1.83 s (kernel) + 1.20 s (initrd)") for w in words)
    tips = [(t.text or "") for t in svg.iter(f"{{{NS['s']}}}title")]
    assert {"firmware: 4.16 s", "loader: 2.80 s", "kernel: 1.83 s", "initrd: 1.20 s"} <= set(tips)
    said = ET.fromstring(render(timeline(), None, "bootup is not yet finished (systemd-analyze time)"))
    assert "systemd: bootup is not yet finished (systemd-analyze time)" in texts(said)
    assert not any(w.startswith("systemd") for w in texts(ET.fromstring(render(timeline()))))


def read_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes a pixel, rows) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "rsvg-convert writes 8-bit RGB(A)"
    bpp = 4 if colour == 6 else 3
    raw, stride = zlib.decompress(idat), width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert (librsvg2-bin) is not installed")
def test_librsvg_draws_the_bars_in_their_colours(tmp_path: Path) -> None:
    text = render(timeline(), parse_analyze_time(UEFI))
    (tmp_path / "t.svg").write_text(text)
    done = subprocess.run(["rsvg-convert", "-f", "png", "-o", str(tmp_path / "t.png"), str(tmp_path / "t.svg")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    width, height, bpp, rows = read_png((tmp_path / "t.png").read_bytes())
    svg = ET.fromstring(text)
    assert (width, height) == (int(svg.get("width", 0)), int(svg.get("height", 0)))

    def pixel(x: float, y: float) -> str:
        r, g, b = rows[int(y)][int(x) * bpp:int(x) * bpp + 3]
        return f"#{r:02x}{g:02x}{b:02x}"

    assert pixel(2, 2) == "#ffffff" and pixel(width - 2, height - 2) == "#ffffff"
    for bar in bars(svg):
        x, y = float(bar.get("x", 0)), float(bar.get("y", 0))
        w, h = float(bar.get("width", 0)), float(bar.get("height", 0))
        assert pixel(x + w / 2, y + h / 2) == bar.get("fill"), bar.get("class")
    painted = sum(1 for row in rows for i in range(0, len(row), bpp) if row[i:i + 3] != b"\xff\xff\xff")
    assert painted > width * height // 50


def test_analyze_draws_the_boot_with_systemd_figures(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(REPO / "demo/root", root, symlinks=True)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}
    boot = subprocess.run([KINDLING, "boot", "--root", str(root)], capture_output=True, text=True, timeout=120,
                          env=env)  # fmt: skip
    assert boot.returncode == 0, boot.stdout + boot.stderr
    (root / "run/systemd/system").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "out").write_text(UEFI)
    (bin_dir / "systemd-analyze").write_text(f'#!/bin/sh\n[ "$*" = time ] && cat {bin_dir}/out\n')
    (bin_dir / "systemd-analyze").chmod(0o755)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    svg_path = tmp_path / "boot.svg"

    def analyze(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([KINDLING, "analyze", "--root", str(root), *args], capture_output=True, text=True,
                              timeout=120, env=env)  # fmt: skip

    out = analyze("--svg", str(svg_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == ("systemd: 4.160s (firmware) + 2.796s (loader) + 1.831s (kernel) + "
                                           "1.200s (initrd) + 8.885s (userspace) = 18.872s; graphical.target "
                                           "reached after 8.850s in userspace")  # fmt: skip
    svg = ET.fromstring(svg_path.read_text())
    words = texts(svg)
    assert words[0].startswith("kindling boot on metal, 20") and "UTC: 10 stages" in words[0]
    assert "systemd: 18.87 s" in words and len(bars(svg)) == 10
    report = json.loads(analyze("--json").stdout)
    assert report["systemd"]["phases_s"]["initrd"] == 1.2 and report["systemd"]["total_s"] == 18.872
    (root / "run/systemd/system").rmdir()
    assert json.loads(analyze("--json").stdout)["systemd"] == {
        "absent": "not running under this root (/run/systemd/system)"}


@pytest.mark.parametrize(("stage", "key"), [
    ({"name": "x", "status": "ok", "start_ms": "soon", "duration_ms": 1.0}, "stages[0].start_ms"),
    ({"name": "x", "status": "ok", "start_ms": 0.0}, "stages[0].duration_ms"),
    ({"status": "ok", "start_ms": 0.0, "duration_ms": 1.0}, "stages[0].name"),
    ("growpart", "stages[0]"),
])  # fmt: skip
def test_a_damaged_timeline_is_one_line(tmp_path: Path, stage: object, key: str) -> None:
    (tmp_path / "run/kindling").mkdir(parents=True)
    (tmp_path / "run/kindling/timeline.json").write_text(json.dumps({"platform": "metal", "stages": [stage]}))
    out = subprocess.run([KINDLING, "analyze", "--root", str(tmp_path), "--svg", str(tmp_path / "t.svg")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 1 and out.stderr.strip().splitlines()[-1].startswith(
        f"kindling analyze: /run/kindling/timeline.json: {key}: ")
    assert "Traceback" not in out.stderr and not (tmp_path / "t.svg").exists()
