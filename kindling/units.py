"""`kindling units install`: write the systemd units shipped as package data (DESIGN §1).

Each unit names the `kindling` executable as `@KINDLING@`; the installer puts an
absolute path there because systemd runs no shell and needs an absolute `ExecStart=`.
By default that is the console script installed with this Python environment
(`sysconfig`'s scripts directory: /usr/local/bin for a system pip install, the venv's
bin/ for a venv): the command the node will keep, not whichever checkout happened to
run the installer. `--exec PATH` names another (a wrapper, a zipapp, /usr/bin/kindling
of a distribution package).

The preset file (`80-kindling.preset`) says which units a node enables: the networkd
backend of netdog (generate + write-network-status) rather than the direct one, every
service that checks its own conditions, nothing that only the crash kernel starts.
`--enable` applies it (`systemctl preset`), so enabling follows the distribution's
preset machinery instead of a list kept in the installer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
from importlib import resources

from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.errors import HostError, UsageError
from kindling.host import Host

__all__ = [
    "PRESET_DIR", "PRESET_NAME", "UNIT_DIR", "build_parser", "install_units", "kindling_executable", "main",
    "preset_text", "shipped_units",
]

UNIT_DIR = "/etc/systemd/system"
PRESET_DIR = "/etc/systemd/system-preset"
PRESET_NAME = "80-kindling.preset"
_SUFFIXES = (".service", ".target", ".mount", ".path", ".timer", ".socket")


def shipped_units() -> dict[str, str]:
    """name -> text of every unit file in `kindling/units/`."""
    folder = resources.files("kindling") / "units"
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(_SUFFIXES)
    }


def preset_text() -> str:
    """The shipped preset file (`enable` / `disable` lines for the shipped units)."""
    return (resources.files("kindling") / "units" / PRESET_NAME).read_text(encoding="utf-8")


def kindling_executable() -> str:
    """The installed `kindling` console script of this Python environment (or on PATH)."""
    scripts = sysconfig.get_path("scripts")
    candidates = [os.path.join(scripts, "kindling")] if scripts else []
    candidates.append(os.path.join(os.path.dirname(sys.executable), "kindling"))
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    found = shutil.which("kindling")
    if not found:
        raise HostError("cannot find the installed kindling command to name in ExecStart= (use --exec PATH)")
    return os.path.abspath(found)


def _installable(text: str) -> bool:
    return "\n[Install]" in "\n" + text


def install_units(host: Host, unit_dir: str = UNIT_DIR, executable: str | None = None) -> list[str]:
    """Write every shipped unit under `unit_dir` and the preset file; returns the files
    that changed."""
    exe = executable or kindling_executable()
    changed = []
    for name, text in shipped_units().items():
        path = f"{unit_dir.rstrip('/')}/{name}"
        if host.write_file(path, text.replace("@KINDLING@", exe), mode=0o644):
            changed.append(path)
    preset = f"{PRESET_DIR}/{PRESET_NAME}"
    if host.write_file(preset, preset_text(), mode=0o644):
        changed.append(preset)
    return changed


def enable_units(host: Host) -> list[str]:
    """`systemctl preset` every shipped unit that has an [Install] section."""
    names = [name for name, text in shipped_units().items() if _installable(text)]
    argv = ["systemctl"]
    if host.prefixed:
        argv.append(f"--root={host.root}")
    host.run([*argv, "preset", *names], timeout=120)
    return names


def _check_executable(host: Host, path: str) -> None:
    if not path.startswith("/"):
        raise UsageError(f"--exec {path}: must be an absolute path (systemd runs no shell)")
    if not host.recording and not os.access(host.path(path), os.X_OK):
        raise HostError(f"--exec {path}: not an executable file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling units",
        description="Install Kindling's systemd units and its preset file.",
        epilog="examples:\n  kindling units install --enable\n"
               "  kindling units install --exec /usr/bin/kindling --root /mnt/image --enable",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    inst = sub.add_parser("install", help="write the unit files and the preset file")
    inst.add_argument("--unit-dir", default=UNIT_DIR, metavar="DIR",
                      help=f"where to write them, under --root (default {UNIT_DIR})")
    inst.add_argument("--exec", dest="executable", metavar="PATH",
                      help="the kindling command ExecStart= runs (default: the console script "
                           "installed with this Python environment)")
    inst.add_argument("--enable", action="store_true",
                      help="then enable the units as the preset file says (systemctl preset)")
    add_common(inst)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    if args.executable is not None:
        _check_executable(host, args.executable)
    changed = install_units(host, args.unit_dir, args.executable)
    enabled = enable_units(host) if args.enable else []
    if args.json:
        emit_json({"changed": changed, "units": sorted(shipped_units()), "preset": enabled})
    else:
        verb = "would write" if host.recording else "wrote"
        for path in changed:
            sys.stdout.write(f"{verb} {path}\n")
        if not changed:
            sys.stdout.write("units already up to date\n")
        if enabled:
            verb = "would apply" if host.recording else "applied"
            sys.stdout.write(f"{verb} the preset to {len(enabled)} units\n")
    return 0
