"""`make demo` installs the runtime dependencies only; `make test` adds the [test] extras.

Dry runs (`make -n`) against a venv path in a temp dir: what each target would install,
and that the stamps let `make test` after `make demo` add the extras while `make demo`
after `make test` installs nothing more.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def dry_run(target: str, venv: Path) -> str:
    out = subprocess.run(["make", "-n", "-C", str(REPO), target, f"VENV={venv}", "DEMO_ROOT=/nonexistent"],
                         capture_output=True, text=True, check=True)
    return out.stdout


def pip_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "pip install" in line]


def test_demo_on_a_fresh_clone_installs_runtime_only(tmp_path: Path) -> None:
    text = dry_run("demo", tmp_path / "v")
    assert "-m venv" in text
    # editable through a path .pth (compat mode): no import finder at every start
    assert pip_lines(text) == [f"{tmp_path}/v/bin/python -m pip install -q --config-settings editable_mode=compat -e ."]
    assert "[test]" not in text and "--upgrade pip" not in text


def test_venv_for_tests_installs_the_extras(tmp_path: Path) -> None:
    text = dry_run("venv", tmp_path / "v")
    lines = pip_lines(text)
    assert any(line.endswith("--config-settings editable_mode=compat -e '.[test]'") for line in lines), lines
    # the test install also satisfies the demo's stamp
    assert f"touch {tmp_path}/v/.installed {tmp_path}/v/.runtime" in text


def make_venv_stub(venv: Path, *stamps: str) -> None:
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    for stamp in stamps:
        (venv / stamp).touch()  # newer than pyproject.toml


def test_test_after_demo_adds_the_extras(tmp_path: Path) -> None:
    venv = tmp_path / "v"
    make_venv_stub(venv, ".runtime")
    assert pip_lines(dry_run("demo", venv)) == []
    assert any("[test]" in line for line in pip_lines(dry_run("venv", venv)))


def test_demo_after_test_installs_nothing(tmp_path: Path) -> None:
    venv = tmp_path / "v"
    make_venv_stub(venv, ".installed", ".runtime")
    assert pip_lines(dry_run("demo", venv)) == []
    assert pip_lines(dry_run("venv", venv)) == []
