"""Run the guest under qemu (TCG: this machine has no KVM), bounded and recorded.

The console (ttyS0) goes to a file, so it survives a killed qemu and is kept as the
test's artifact. `-no-reboot` turns the crash kernel's final `reboot -f` into a
qemu exit, so one qemu run covers boot → panic → capture → reboot. A guest still
running at the deadline is killed (its process group) and reported with the tail of
its console: a hung guest never outlives the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GuestRun", "qemu_available", "run_guest"]

QEMU = "qemu-system-x86_64"


def qemu_available() -> str | None:
    """None when the guest can run here, else why not (the skip reason)."""
    if os.geteuid() != 0:
        return "VM test needs root (apt-get download into the cache, 9p share of /, guest as root)"
    for tool in (QEMU, "busybox", "cpio", "sgdisk", "mkfs.ext4", "debugfs", "xorriso", "kexec",
                 "makedumpfile", "apt-get", "dpkg-deb", "depmod"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"VM test needs {tool} (ci/apt-packages.txt: qemu-system-x86, busybox-static, cpio, ...)"
    probe = subprocess.run([QEMU, "-accel", "help"], capture_output=True, text=True, check=False)
    if "tcg" not in probe.stdout:
        return f"{QEMU} has no TCG accelerator"
    return None


@dataclass(frozen=True)
class GuestRun:
    console: Path
    returncode: int | None  # None: killed at the deadline
    seconds: float

    @property
    def log(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_guest(
    *,
    kernel: Path,
    initrd: Path | None,
    append: str,
    disk: Path,
    cdrom: Path | None,
    console: Path,
    timeout: float,
    memory_mib: int = 768,
    cpus: int = 2,
    share_host_root: bool = True,
    disks: Sequence[Path] = (),
    extra: Sequence[str] = (),
) -> GuestRun:
    """Boot once and wait for qemu to exit (poweroff / reboot) or the deadline.

    `share_host_root` shows the host's / read-only over 9p (the busybox guests run
    Kindling from it); the systemd guest boots its own root instead. `disks` are more
    virtio disks (vdb, vdc, ...); `extra` are further qemu arguments (network, SMBIOS,
    a second serial port). Without a `-netdev` in `extra` the guest has no network.
    """
    argv = [
        QEMU, "-accel", "tcg", "-cpu", "max", "-m", str(memory_mib), "-smp", str(cpus),
        "-machine", "q35", "-display", "none", "-monitor", "none", "-nodefaults", "-no-reboot",
        "-serial", f"file:{console}",
        "-kernel", str(kernel), "-append", append,
        "-drive", f"file={disk},format=raw,if=virtio,cache=writeback",
    ]
    for more in disks:
        argv += ["-drive", f"file={more},format=raw,if=virtio,cache=writeback"]
    if share_host_root:
        argv += ["-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"]
    if not any(a == "-netdev" for a in extra):
        argv += ["-nic", "none"]
    argv += list(extra)
    if initrd is not None:
        argv += ["-initrd", str(initrd)]
    if cdrom is not None:
        argv += [
            "-device", "virtio-scsi-pci,id=scsi0",
            "-drive", f"file={cdrom},format=raw,if=none,media=cdrom,readonly=on,id=cd0",
            "-device", "scsi-cd,drive=cd0,bus=scsi0.0",
        ]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        rc = None
    except BaseException:  # Ctrl-C or a pytest-timeout: never leave the guest running
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    seconds = time.monotonic() - started
    if out:
        with console.open("ab") as f:
            f.write(b"\n--- qemu output ---\n" + out)
    return GuestRun(console, rc, seconds)
