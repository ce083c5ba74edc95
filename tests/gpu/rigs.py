"""Rigs for the gpu tests: umockdev device files, small object files from gcc,
stand-in programs on PATH, planted sysfs trees. Helpers only; fixtures are in conftest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

KINDLING = str(Path(sys.executable).with_name("kindling"))


@dataclass(frozen=True)
class FakePci:
    slot: str
    vendor: int
    device: int
    pci_class: int = 0x030200
    model: str | None = None


H100 = FakePci("0000:00:1e.0", 0x10DE, 0x2330)
T4 = FakePci("0000:00:1e.0", 0x10DE, 0x1EB8, 0x030200)
V100 = FakePci("0000:00:1e.0", 0x10DE, 0x1DB1, 0x030200)
NVSWITCH = FakePci("0000:00:05.0", 0x10DE, 0x22A3, 0x068000)
NEURON = FakePci("0000:00:1d.0", 0x1D0F, 0x7264, 0x088000)
EFA = FakePci("0000:00:1f.0", 0x1D0F, 0xEFA1, 0x020000)
ENA = FakePci("0000:00:05.0", 0x1D0F, 0xEC20, 0x020000)  # Amazon NIC: not ours


def umockdev_text(devices: list[FakePci]) -> str:
    """Hand-written umockdev device file (RIGS.md format), one block per device."""
    blocks = []
    for d in devices:
        lines = [
            f"P: /devices/pci0000:00/{d.slot}",
            "E: SUBSYSTEM=pci",
            f"E: PCI_ID={d.vendor:04X}:{d.device:04X}",
            f"E: PCI_SLOT_NAME={d.slot}",
            f"A: vendor=0x{d.vendor:04x}",
            f"A: device=0x{d.device:04x}",
            f"A: class=0x{d.pci_class:06x}",
        ]
        if d.model:
            lines.insert(4, f"E: ID_MODEL_FROM_DATABASE={d.model}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def need_umockdev() -> None:
    if shutil.which("umockdev-run") is None:
        pytest.skip("umockdev-run not installed (apt package umockdev)")


def run_umockdev(
    tmp: Path, devices: list[FakePci], *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`umockdev-run -d FILE -- kindling ARGV` (a shell-less argv; no devices = empty file)."""
    need_umockdev()
    cmd = [KINDLING, *argv]
    if devices:
        dev = tmp / f"devices-{len(list(tmp.glob('devices-*')))}.umockdev"
        dev.write_text(umockdev_text(devices))
        cmd = ["umockdev-run", "-d", str(dev), "--", *cmd]
    else:
        cmd = ["umockdev-run", "--", *cmd]
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("KINDLING_ROOT", None)
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=60)


def run_kindling(*argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("KINDLING_ROOT", None)
    return subprocess.run([KINDLING, *argv], capture_output=True, text=True, env=env, timeout=60)


def detect_json(tmp: Path, devices: list[FakePci], *extra: str) -> dict[str, object]:
    r = run_umockdev(tmp, devices, "gpu", "detect", "--json", *extra)
    assert r.returncode == 0, r.stderr
    out: dict[str, object] = json.loads(r.stdout)
    return out


def plant_sysfs(root: Path, devices: list[FakePci]) -> None:
    """`<root>/sys/bus/pci/devices/<slot>/{vendor,device,class}` as the kernel writes them."""
    base = root / "sys/bus/pci/devices"
    base.mkdir(parents=True, exist_ok=True)
    for d in devices:
        slot = base / d.slot
        slot.mkdir()
        (slot / "vendor").write_text(f"0x{d.vendor:04x}\n")
        (slot / "device").write_text(f"0x{d.device:04x}\n")
        (slot / "class").write_text(f"0x{d.pci_class:06x}\n")


def plant_kernel(root: Path, kver: str = "6.1.0-test") -> str:
    osrelease = root / "proc/sys/kernel/osrelease"
    osrelease.parent.mkdir(parents=True, exist_ok=True)
    osrelease.write_text(kver + "\n")
    return kver


# A module.lds in the kernel's shape (scripts/module.lds.S), small but real: it
# discards `.discard.*`, which lets a test prove the script was applied.
MODULE_LDS = """\
SECTIONS {
 /DISCARD/ : { *(.discard) *(.discard.*) }
 __ksymtab 0 : { *(SORT(___ksymtab+*)) }
 .init_array 0 : ALIGN(8) { *(SORT(.init_array.*)) *(.init_array) }
 .note.gnu.property : { *(.note.gnu.property) }
}
"""


def plant_module_lds(root: Path, kver: str) -> Path:
    lds = root / f"usr/src/kernels/{kver}/scripts/module.lds"
    lds.parent.mkdir(parents=True, exist_ok=True)
    lds.write_text(MODULE_LDS)
    return lds


def need_toolchain() -> None:
    for tool in ("gcc", "ld", "strip", "nm", "readelf"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (apt packages gcc, binutils)")


def compile_object(src_dir: Path, name: str, code: str, *, debug: bool = True) -> Path:
    """A tiny C file compiled to `name` (an object file) in `src_dir`."""
    c_file = src_dir / (name.removesuffix(".o") + ".c")
    c_file.write_text(code)
    out = src_dir / name
    flags = ["-g"] if debug else []
    subprocess.run(["gcc", "-c", "-O1", "-fno-pic", *flags, "-o", str(out), str(c_file)],
                   check=True, capture_output=True)
    c_file.unlink()
    return out


def symbols(path: Path) -> set[str]:
    out = subprocess.run(["nm", str(path)], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def sections(path: Path) -> set[str]:
    out = subprocess.run(["readelf", "-W", "-S", str(path)], check=True, capture_output=True,
                         text=True).stdout
    names = set()
    for line in out.splitlines():
        if "]" in line and line.strip().startswith("["):
            parts = line.split("]", 1)[1].split()
            if parts:
                names.add(parts[0])
    return names


def stand_in(bin_dir: Path, name: str, log: Path, *, exit_code: int = 0, stderr: str = "") -> None:
    """An executable `name` that appends its argv (one line) to `log`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'echo "{name} $*" >> "{log}"\n'
        + (f'echo "{stderr}" >&2\n' if stderr else "")
        + f"exit {exit_code}\n"
    )
    script.chmod(0o755)


SRC = "/usr/share/linking/module-objects.d"


def build_objects(root: Path) -> Path:
    """The object files linking.conf names, compiled from tiny C files."""
    need_toolchain()
    src = root / SRC.lstrip("/")
    src.mkdir(parents=True)
    compile_object(src, "first.o", "__attribute__((noinline)) static int helper(int x) { return x * 3; }\n"
                   "int init_module(void) { return helper(1) - 3; }\n")
    compile_object(src, "second.o", "void cleanup_module(void) {}\n"
                   "int first_internal_api(int v) { return v + 1; }\n")
    compile_object(src, "third.o", "int init_module(void) { return 0; }\n")
    compile_object(src, "fourth.o", "void cleanup_module(void) {}\n")
    compile_object(src, "other.o", "int init_module(void) { return 0; }\n"
                   "void cleanup_module(void) {}\n")
    for mod in ("main", "secondary", "other"):
        compile_object(src, f"{mod}.mod.o",
                       f'const char modinfo_{mod}[] __attribute__((section(".modinfo"))) = '
                       f'"name={mod}";\n'
                       f'int dropped_{mod} __attribute__((section(".discard.test"))) = 1;\n',
                       debug=False)
    return src


def build_objects_for_cli(root: Path) -> None:
    """linking.conf's objects and copying.conf's modules."""
    build_objects(root)
    factory = root / "usr/share/factory/copying-driver"
    factory.mkdir(parents=True)
    for name in ("main.ko", "secondary.ko", "other.ko"):
        (factory / name).write_bytes(name.encode())
