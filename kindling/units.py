"""`kindling units install`: write the systemd units shipped as package data (DESIGN §1).

Each unit names the `kindling` executable as `@KINDLING@`; the installer puts the
real absolute path there (a venv or /usr/bin), because systemd runs no shell and
needs an absolute `ExecStart=`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from importlib import resources

from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.errors import HostError
from kindling.host import Host

__all__ = ["UNIT_DIR", "build_parser", "install_units", "kindling_executable", "main", "shipped_units"]

UNIT_DIR = "/etc/systemd/system"
_SUFFIXES = (".service", ".target", ".mount", ".path", ".timer", ".socket")


def shipped_units() -> dict[str, str]:
    """name -> text of every unit file in `kindling/units/`."""
    folder = resources.files("kindling") / "units"
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(_SUFFIXES)
    }


def kindling_executable() -> str:
    """The absolute path of the `kindling` command that is running (or on PATH)."""
    here = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(here) == "kindling" and os.access(here, os.X_OK):
        return here
    beside = os.path.join(os.path.dirname(sys.executable), "kindling")
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which("kindling")
    if not found:
        raise HostError("cannot find the kindling executable to name in ExecStart=")
    return os.path.abspath(found)


def install_units(host: Host, unit_dir: str = UNIT_DIR, executable: str | None = None) -> list[str]:
    """Write every shipped unit under `unit_dir`; returns the files that changed."""
    exe = executable or kindling_executable()
    changed = []
    for name, text in shipped_units().items():
        path = f"{unit_dir.rstrip('/')}/{name}"
        if host.write_file(path, text.replace("@KINDLING@", exe), mode=0o644):
            changed.append(path)
    return changed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling units",
        description="Install the systemd units shipped with Kindling, their ExecStart= "
        "naming this kindling executable by its absolute path.")
    sub = parser.add_subparsers(dest="verb", required=True)
    inst = sub.add_parser("install", help="write the unit files")
    inst.add_argument("--unit-dir", default=UNIT_DIR, metavar="DIR",
                      help=f"where to write them, under --root (default {UNIT_DIR})")
    add_common(inst)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    changed = install_units(host, args.unit_dir)
    if args.json:
        emit_json({"changed": changed, "units": sorted(shipped_units())})
    else:
        verb = "would write" if host.recording else "wrote"
        for path in changed:
            sys.stdout.write(f"{verb} {path}\n")
        if not changed:
            sys.stdout.write("units already up to date\n")
    return 0
