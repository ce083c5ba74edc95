"""A qemu guest (software emulation) with a Debian 6.1 kernel, for what this VM's own
kernel cannot do: 802.1Q VLANs and bonding (RIGS.md "qemu boot tests"). The guest's
initramfs loads virtio/9p plus the VLAN, bonding and veth modules, mounts this
machine's root read-only over 9p, chroots into it with tmpfs on /run and /tmp, runs
one command and prints its exit status on the serial console. Nothing of this
machine is changed: the kernel and modules act only inside the guest.

The kernel comes from an unpacked `linux-image-6.1.0-*-amd64` package
(`KINDLING_VM_KERNEL_DIR`, default /var/cache/kindling-vm/linux-image-6.1.0-56-amd64);
without one, callers skip and say how to get it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["MARKER", "kernel_dir", "run_in_guest"]

MARKER = "KINDLING-VM-EXIT"
_MODULES = [
    "drivers/virtio/virtio_ring", "drivers/virtio/virtio",
    "drivers/virtio/virtio_pci_modern_dev",
    "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci", "net/9p/9pnet",
    "net/9p/9pnet_virtio", "fs/netfs/netfs", "fs/fscache/fscache", "fs/9p/9p",
    "net/llc/llc", "net/802/stp", "net/802/garp", "net/802/mrp", "net/8021q/8021q",
    "net/tls/tls", "drivers/net/bonding/bonding", "drivers/net/veth",
]
_INIT = """#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in /mod/*.ko; do insmod $m || echo "insmod $m failed"; done
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mount -t tmpfs tmpfs /host/run; mount -t tmpfs tmpfs /host/tmp
cp /cmd.sh /host/tmp/kindling-vm-cmd.sh
chroot /host /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin PYTHONDONTWRITEBYTECODE=1 \
  TMPDIR=/tmp HOME=/tmp /bin/sh /tmp/kindling-vm-cmd.sh
echo "{marker} $?"
poweroff -f
"""


def kernel_dir() -> Path | None:
    """The unpacked guest kernel: `KINDLING_VM_KERNEL_DIR`, else the shared VM-test cache
    (fetched once with apt-get download by tests/vm/kernel.py); None when it cannot be had."""
    if shutil.which("qemu-system-x86_64") is None or shutil.which("busybox") is None:
        return None
    explicit = os.environ.get("KINDLING_VM_KERNEL_DIR")
    if explicit:
        d = Path(explicit)
        return d if list(d.glob("boot/vmlinuz-*")) else None
    if os.geteuid() != 0:
        return None
    from tests.vm.kernel import fetch_kernel

    try:
        return fetch_kernel().tree
    except (OSError, RuntimeError):
        return None


def _initramfs(kdir: Path, work: Path, init: str, script: str) -> Path:
    ird = work / "ird"
    (ird / "bin").mkdir(parents=True)
    (ird / "mod").mkdir()
    for d in ("proc", "sys", "dev", "host"):
        (ird / d).mkdir()
    shutil.copy(shutil.which("busybox") or "/bin/busybox", ird / "bin/busybox")
    applets = subprocess.run([str(ird / "bin/busybox"), "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            (ird / "bin" / a).symlink_to("busybox")
    (mods,) = list((kdir / "lib/modules").iterdir())
    for i, m in enumerate(_MODULES):
        shutil.copy(mods / "kernel" / f"{m}.ko", ird / "mod" / f"{i:02d}-{Path(m).name}.ko")
    (ird / "init").write_text(init)
    (ird / "cmd.sh").write_text(script)
    (ird / "init").chmod(0o755)
    out = work / "initrd.gz"
    with out.open("wb") as fh:
        find = subprocess.Popen(["find", "."], cwd=ird, stdout=subprocess.PIPE)
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet"], cwd=ird,
                                stdin=find.stdout, stdout=subprocess.PIPE)
        subprocess.run(["gzip", "-1"], stdin=cpio.stdout, stdout=fh, check=True)
        cpio.wait()
        find.wait()
    return out


def run_in_guest(command: str, *, cwd: str, env: str, work: Path,
                 timeout: float = 240) -> tuple[int | None, str]:
    """Boot, run `command` in the chroot, power off; (exit status or None, console)."""
    kdir = kernel_dir()
    assert kdir is not None
    init = _INIT.format(marker=MARKER)
    script = f"cd {cwd} || exit 97\n{env} exec {command}\n"
    initrd = _initramfs(kdir, work, init, script)
    (kernel,) = list((kdir / "boot").glob("vmlinuz-*"))
    argv = [
        "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "1",
        "-nographic", "-no-reboot", "-kernel", str(kernel), "-initrd", str(initrd),
        "-append", "console=ttyS0 quiet panic=-1",
        "-virtfs",
        "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    console = done.stdout + done.stderr
    for line in console.splitlines():
        if line.startswith(MARKER):
            return int(line.split()[1]), console
    return None, console
