"""The boot-loader guest: the kernel booted with what Kindling's integration generated.

1. A node (tests/bootloader/sandbox.py: this machine's real update-initramfs,
   mkinitramfs and grub-mkconfig, private /etc, /var/lib and /boot) has the Debian
   initrd of its kernel (`update-initramfs -c`), then commits `settings.kdump.crashkernel`
   and boot parameters; `kindling kdump plan --reserve` puts the reservation into the
   boot settings, whose applier installs the initramfs-tools hook, regenerates the
   initrd, writes the GRUB drop-in and runs grub-mkconfig; `kindling bootconfig install`
   reports what carries what. A last plain `update-initramfs -u` (a kernel or package
   update on the node) rebuilds the initrd, and Kindling's post-update.d hook appends
   bootconfig.data to it: that image is the guest's initrd, byte for byte.
   KINDLING_BOOTCONFIG_ATTACH=always: the Debian kernel has CONFIG_BOOT_CONFIG off, so
   Kindling would rightly attach nothing by default; here the footer is attached so
   the kernel is shown an initrd that carries one (see test_vm_bootline.py for what it
   prints about it).
2. The kernel command line GRUB would pass for the first `linux` line of that grub.cfg
   (`grub_command_line`), exactly, is qemu's `-append`: no word is added for the rig.
   Its `root=` names the guest disk: a bare ext4 filesystem (`root=/dev/vda`, or made
   with the UUID/label that `root=UUID=`/`LABEL=` names).
3. That disk is the guest's root and the node's: Debian's initramfs /init mounts it and
   hands over to its /sbin/init (tests/vm/init.sh), which runs guest.sh as in flow.py:
   `kindling boot` (kdump-load arms), `kdump plan` and `kdump status` against the node's
   /var/lib/kindling, drop-in, grub.cfg, kernel and initrd, and records /proc/cmdline,
   the reservation, /proc/iomem, the mounts and dmesg.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bootloader.sandbox import Sandbox, run_in_sandbox
from tests.vm.disk import DiskImage, make_root_disk
from tests.vm.flow import REPO, _precompile
from tests.vm.initramfs import populate_root
from tests.vm.kernel import GuestKernel, fetch_kernel
from tests.vm.qemu import GuestRun, run_guest

__all__ = ["CRASHKERNEL", "USER_WORD", "BootlineRun", "RootUnsupported", "boot_bootline",
           "grub_command_line", "root_disk_options"]

CRASHKERNEL = "256M"
USER_WORD = "kindling.vmtest=bootloader"  # a parameter only settings.boot can have put there
SETTINGS = f"""[settings.boot.kernel-parameters]
console = ["ttyS0"]
"kindling.vmtest" = ["bootloader"]

[settings.kdump]
crashkernel = "{CRASHKERNEL}"
"""
GUEST_TIMEOUT = 75.0  # a guest whose init fails hangs (no panic=-1 is added): bounded here
STEPS = "boot kdump-plan kdump-status"
# /etc/initramfs-tools/modules of the node (MODULES=list): the guest's disk, its root
# filesystem and the 9p share of the host the rig's guest.sh runs from.
INITRD_MODULES = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4", "9pnet_virtio", "9p"]
# The node's writes the guest disk carries (sandbox path -> path on the guest disk).
CARRIED = ("/var/lib/kindling", "/etc/default/grub.d/90-kindling.cfg", "/boot/grub/grub.cfg")


def grub_command_line(grub_cfg: str) -> str:
    """The command line GRUB gives the kernel for the first `linux` line of grub_cfg.

    GRUB's `linux` command gets its words split as a shell would (grub.cfg is GRUB
    script) and builds `BOOT_IMAGE=<kernel path>` followed by the other words, one space
    apart (grub-core/loader/i386/linux.c, grub_create_loader_cmdline). A word with a
    space or quote would be re-quoted by GRUB; Kindling's parameters have none, and
    such a word is refused here rather than guessed at.
    """
    for line in grub_cfg.splitlines():
        if line.split()[:1] != ["linux"]:
            continue
        words = shlex.split(line, comments=True)
        if len(words) >= 2:
            odd = [w for w in words if any(c in w for c in " \t\"'\\")]
            if odd:
                raise ValueError(f"grub.cfg linux line has words GRUB would re-quote: {odd}")
            return " ".join([f"BOOT_IMAGE={words[1]}", *words[2:]])
    raise ValueError("grub.cfg has no linux line")


class RootUnsupported(Exception):
    """The generated line's root= names a device this rig cannot present (a skip)."""


def root_disk_options(cmdline: str) -> tuple[str | None, str | None]:
    """make_root_disk's (uuid, label) for the command line's root=, so the kernel finds it."""
    roots = [w.removeprefix("root=") for w in cmdline.split() if w.startswith("root=")]
    if not roots:
        raise RootUnsupported("the generated linux line has no root=")
    root = roots[-1]  # the kernel keeps the last one
    if root == "/dev/vda":
        return None, None
    if root.startswith("UUID="):
        return root.removeprefix("UUID="), None
    if root.startswith("LABEL="):
        return None, root.removeprefix("LABEL=")
    raise RootUnsupported(f"the generated linux line says root={root}: the guest's only disk is /dev/vda")


@dataclass
class BootlineRun:
    node: Sandbox
    install_json: str
    cmdline: str  # what qemu passed: GRUB's command line for the generated linux line
    initrd: Path  # what qemu passed: the node's /boot/initrd.img-<release>, hook's footer on it
    disk: DiskImage
    guest: GuestRun
    build_seconds: float

    def output(self, name: str) -> str | None:
        raw = self.disk.read(f"/var/lib/vmtest/boot/{name}")
        return None if raw is None else raw.decode("utf-8", "replace")

    def step_log(self, name: str) -> str:
        return (f"rc={self.output(name + '.rc')}\nstdout:\n{(self.output(name + '.out') or '')[-3000:]}\n"
                f"stderr:\n{(self.output(name + '.err') or '')[-3000:]}")


def _configure_node(workdir: Path) -> tuple[Sandbox, str]:
    """Step 1 of the module docstring; the sandbox and `bootconfig install --json`."""
    kindling = Path(sys.prefix) / "bin" / "kindling"
    settings = workdir / "settings.toml"
    settings.write_text(SETTINGS)
    report = workdir / "install.json"
    box = run_in_sandbox(workdir / "sb", f"""REL=$(cat /proc/sys/kernel/osrelease)
echo "== initrd"; update-initramfs -c -k $REL; echo "initrd rc=$?"
export KINDLING_BOOTCONFIG_ATTACH=always
echo "== apply"; {kindling} apiclient apply {settings}; echo "apply rc=$?"
echo "== reserve"; {kindling} kdump plan --reserve; echo "reserve rc=$?"
echo "== install"; {kindling} bootconfig install --json > {report}; echo "install rc=$?"
echo "== update"; update-initramfs -u -k $REL; echo "update rc=$?"
""", modules=INITRD_MODULES)
    for step in ("initrd", "apply", "reserve", "install", "update"):
        if f"{step} rc=0" not in box.stdout:
            raise RuntimeError(f"the boot-loader node's {step} failed:\n{box.stdout[-4000:]}")
    return box, report.read_text()


def _disk(workdir: Path, box: Sandbox, kernel: GuestKernel, cmdline: str, initrd: Path) -> DiskImage:
    """Step 3: the guest's root (busybox, /sbin/init) with the node's boot-loader
    writes, its kernel and the initrd (which `kdump load` arms as well)."""
    skel = workdir / "skel"
    populate_root(skel, kernel, {
        "VMTEST_GUEST": str(Path(__file__).with_name("guest.sh")),
        "PY": sys.executable,
        "VENV": sys.prefix,
        "REPO": str(REPO),
        "BOOT_STEPS": STEPS, "CRASH_STEPS": "", "REBOOT_STEPS": "", "PANIC": "0",
        "PLATFORM": "metal",
        "VMTEST_DISK": "/dev/vda",
        # the guest disk at --root is this guest's root: kexec may arm the running kernel
        "KINDLING_ACT_ON_KERNEL": "1",
    }, modules=[])  # Debian's initramfs loaded them (INITRD_MODULES)
    for d in ("boot", "var/lib", "var/log/kdump"):
        (skel / d).mkdir(parents=True, exist_ok=True)
    for path in CARRIED:
        src, dest = box.upper(path), skel / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest)
    rel = box.kernel.release
    for name in (f"vmlinuz-{rel}", f"config-{rel}"):
        shutil.copy2(box.kernel.tree / "boot" / name, skel / "boot" / name)
    shutil.copy2(initrd, skel / "boot" / f"initrd.img-{rel}")
    uuid, label = root_disk_options(cmdline)
    disk = make_root_disk(workdir / "disk.img", skel, disk_mib=256, uuid=uuid, label=label)
    shutil.rmtree(skel)
    return disk


def boot_bootline(workdir: Path) -> BootlineRun:
    """The three steps of the module docstring; the guest's outputs stay on the disk."""
    started = time.monotonic()
    _precompile()
    kernel = fetch_kernel()
    box, install = _configure_node(workdir)
    cmdline = grub_command_line(box.upper("/boot/grub/grub.cfg").read_text())
    root_disk_options(cmdline)  # RootUnsupported before anything else is built
    initrd = workdir / f"initrd.img-{kernel.release}"
    shutil.copy2(box.upper(f"/boot/initrd.img-{kernel.release}"), initrd)
    disk = _disk(workdir, box, kernel, cmdline, initrd)
    build = time.monotonic() - started
    guest = run_guest(kernel=kernel.vmlinuz, initrd=initrd, disk=disk.path, cdrom=None,
                      console=workdir / "console.log", append=cmdline, timeout=GUEST_TIMEOUT)
    return BootlineRun(box, install, cmdline, initrd, disk, guest, build)
