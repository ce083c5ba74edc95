"""The guest's initramfs, built by the test: static busybox, modules, kexec tools, /init.

One image serves both kernels of a run: the first boot and the crash kernel that
`kindling kdump load` arms (it loads "the current kernel and initrd"). /init tells them
apart by /proc/vmcore, exactly as a distribution's kdump initrd does, because an
initramfs has no systemd to honour the crash command line's `systemd.unit=`.

kexec and makedumpfile travel with their `ldd` libraries, so the image is a complete
kdump initrd on its own (/init runs both before mounting anything, and the test checks
they answered); in this rig Kindling runs from the host's checkout and venv, seen
read-only over 9p (RIGS.md "qemu boot tests"), and calls the host's copies there.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.vm.kernel import GuestKernel, module_load_order

__all__ = ["GUEST_MODULES", "build_initramfs", "populate_root"]

# Drivers the guest needs, by name; dependencies come from modules.dep.
GUEST_MODULES = [
    "virtio_pci",  # the PCI transport for every virtio device below
    "virtio_blk",  # /dev/vda: the guest disk
    "virtio_scsi", "sr_mod",  # /dev/sr0: the OVF CD-ROM
    "9pnet_virtio", "9p",  # the host's root, read-only
    "crc32c_generic", "ext4",  # the KINDLING-DATA filesystem
]
TOOLS = ["kexec", "makedumpfile"]
INIT = Path(__file__).with_name("init.sh")


def _which(name: str) -> Path:
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return p
    raise RuntimeError(f"{name} not found: install it (ci/apt-packages.txt)")


def _libraries(binary: Path) -> list[Path]:
    """The shared objects `ldd` says the binary loads, the dynamic loader included."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
    return [Path(p) for p in re.findall(r"(/\S+\.so[^\s]*)", out)]


def _copy(src: Path, staging: Path) -> None:
    dest = staging / str(src).lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists():
        shutil.copy2(src.resolve(), dest)


def populate_root(
    staging: Path,
    kernel: GuestKernel,
    settings: dict[str, str],
    *,
    init: Path = INIT,
    modules: list[str] | None = None,
    tools: list[str] | None = None,
    extra_files: dict[str, Path] | None = None,
) -> None:
    """Write the guest's early root into `staging`: busybox, the tools (kexec's unless
    given), the modules /init loads (GUEST_MODULES unless given), `extra_files` ({path in
    the image: source file}) and /init itself (also as /sbin/init, for a distribution
    initramfs that mounts this tree as the root and hands over to it)."""
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "host", "hosttmp", "tmp", "run"):
        (staging / d).mkdir(parents=True, exist_ok=True)
    busybox = _which("busybox")
    if _libraries(busybox):
        raise RuntimeError(f"{busybox} is not static: install busybox-static")
    shutil.copy2(busybox, staging / "bin" / "busybox")
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (staging / "bin" / applet).symlink_to("busybox")
    for tool in TOOLS if tools is None else tools:
        binary = _which(tool)
        _copy(binary, staging)
        for lib in _libraries(binary):
            _copy(lib, staging)
    mods = module_load_order(kernel, GUEST_MODULES if modules is None else modules)
    for rel in mods:
        dest = staging / "lib" / "modules" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kernel.modules / rel, dest)
    (staging / "etc" / "modules.order").write_text("".join(f"/lib/modules/{m}\n" for m in mods))
    (staging / "etc" / "vmtest.env").write_text("".join(f"{k}='{v}'\n" for k, v in settings.items()))
    for rel, src in (extra_files or {}).items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, staging / rel)
    for target in (staging / "init", staging / "sbin" / "init"):
        shutil.copy2(init, target)
        target.chmod(0o755)


def build_initramfs(
    kernel: GuestKernel,
    workdir: Path,
    settings: dict[str, str],
    *,
    init: Path = INIT,
    modules: list[str] | None = None,
    tools: list[str] | None = None,
    extra_files: dict[str, Path] | None = None,
) -> Path:
    """Write `initrd.gz` under workdir; `settings` become /etc/vmtest.env for /init.

    The defaults build the kdump flow's image; the systemd guest passes its own /init
    (mount the root disk, `switch_root` to systemd) and needs no kexec tools.
    """
    staging = workdir / "initramfs"
    shutil.rmtree(staging, ignore_errors=True)
    populate_root(staging, kernel, settings, init=init, modules=modules, tools=tools, extra_files=extra_files)
    files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*"))
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input="\n".join(files).encode(),
                          cwd=staging, capture_output=True, check=True).stdout
    out = workdir / "initrd.gz"
    out.write_bytes(gzip.compress(cpio, compresslevel=1))
    shutil.rmtree(staging)
    return out
