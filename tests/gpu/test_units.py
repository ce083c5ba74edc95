"""The kindling-gpu-* units: ExecCondition pattern, the same sets as the boot stage,
ordering before kindling-preconfigured.target, and a clean `systemd-analyze verify`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpu.flavor import MODULE_SETS

UNITS = Path(__file__).resolve().parents[2] / "kindling/units"


def unit(name: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key, []).append(value)
    return keys


@pytest.mark.parametrize("flavor", ["open", "proprietary"])
def test_units_follow_the_stage(flavor: str) -> None:
    link = unit(f"kindling-gpu-link-{flavor}.service")
    load = unit(f"kindling-gpu-load-{flavor}.service")
    for u in (link, load):
        assert u["ExecCondition"] == [f"@KINDLING@ gpu match-driver {flavor}"]
        assert u["Before"] == ["kindling-preconfigured.target"]
        assert u["RequiredBy"] == ["kindling-preconfigured.target"]
        assert u["Type"] == ["oneshot"]
    sets = MODULE_SETS[flavor]
    assert [re.sub(r".*--modules-set ", "", e) for e in link["ExecStart"]] == list(sets.link)
    assert [re.sub(r".*--modules-set ", "", e) for e in load["ExecStart"]] == list(sets.load)
    assert all(" link-modules " in e for e in link["ExecStart"])
    assert all(" load-modules " in e for e in load["ExecStart"])
    assert load["Requires"] == load["After"] == [f"kindling-gpu-link-{flavor}.service"]


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    names = sorted(p.name for p in UNITS.glob("kindling-gpu-*.service"))
    assert len(names) == 5
    for p in UNITS.iterdir():
        exe = str(Path(sys.executable).with_name("kindling"))
        (tmp_path / p.name).write_text(p.read_text().replace("@KINDLING@", exe))
    r = subprocess.run(["systemd-analyze", "verify", *names], cwd=tmp_path, capture_output=True,
                       text=True, env=dict(os.environ, SYSTEMD_UNIT_PATH=f"{tmp_path}:"),
                       timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
