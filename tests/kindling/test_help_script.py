"""The installed `kindling` script stays a thin `run()` call: pip's generated
console-script wrapper imported `re` (~4 ms of a ~12 ms `kindling --help`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kindling"


def test_help_through_the_script_imports_no_re() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(SCRIPT), "--help"],
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.startswith("usage: kindling <command>")
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "kindling.cli" in imported
    assert "re" not in imported
