"""The installed `kindling` script stays a thin `run()` call: pip's generated
console-script wrapper imported `re` (~4 ms of a ~12 ms `kindling --help`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kindling"


def _imported(*argv: str) -> tuple[str, set[str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=True)
    return done.stdout, {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}


def test_help_through_the_script_imports_nothing_beyond_the_cli() -> None:
    """What the interpreter's start-up imports (site, an editable finder) is the floor;
    the script adds only the CLI's own modules."""
    _, floor = _imported("-c", "pass")
    out, imported = _imported(str(SCRIPT), "--help")
    assert out.startswith("usage: kindling <command>")
    assert imported - floor - {"__future__"} == {"kindling", "kindling.cli"}
