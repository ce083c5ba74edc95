"""A guest that runs one command on this machine's root, for what its kernel cannot do.

Used by the netdog VLAN and bond test (802.1Q and bonding: this VM's kernel has
neither). The same rig pieces as every VM test: the cached Debian kernel
(tests/vm/kernel.py), an initramfs built by tests/vm/initramfs.py with this guest's
/init (init-command.sh) and the modules it names, qemu bounded by tests/vm/qemu.py
(killed at its deadline, console kept). Nothing of this machine is changed: the root
is shared read-only and the kernel acts only inside the guest. A checkout or venv
under /tmp is bound back over the guest's own /tmp, so a clone anywhere works.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tests.vm.initramfs import build_initramfs
from tests.vm.kernel import GuestKernel, fetch_kernel
from tests.vm.qemu import GuestRun, qemu_available, run_guest

__all__ = ["MARKER", "NET_MODULES", "guest_kernel", "run_in_guest"]

MARKER = "KINDLING-VM-EXIT"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BASE_MODULES = ["virtio_pci", "9pnet_virtio", "9p"]
NET_MODULES = ["8021q", "bonding", "veth"]


def guest_kernel() -> GuestKernel | None:
    """The cached guest kernel (fetched on first use), or None where no guest can run."""
    if qemu_available() is not None:
        return None
    try:
        return fetch_kernel()
    except (OSError, RuntimeError):
        return None


def run_in_guest(command: str, *, cwd: str, env: str, work: Path, modules: list[str] | None = None,
                 timeout: float = 240) -> tuple[int | None, str, GuestRun]:
    """Boot, run `command` in `cwd` chrooted into the host's root, power off.

    Returns (exit status, or None when the guest never reported one; console; the run).
    """
    kernel = guest_kernel()
    assert kernel is not None, "guest_kernel() is None: skip before calling"
    keep = " ".join(sorted({cwd, str(REPO), sys.prefix}))
    work.mkdir(parents=True, exist_ok=True)
    (work / "cmd.sh").write_text(f"cd {shlex.quote(cwd)} || exit 97\n{env} exec {command}\n")
    initrd = build_initramfs(kernel, work, {"MARKER": MARKER, "KEEP_PATHS": keep},
                             init=HERE / "init-command.sh", modules=BASE_MODULES + (modules or []), tools=[],
                             extra_files={"cmd.sh": work / "cmd.sh"})
    blank = work / "blank.img"
    with blank.open("wb") as f:
        f.truncate(1024 * 1024)
    run = run_guest(kernel=kernel.vmlinuz, initrd=initrd, append="console=ttyS0 quiet panic=-1", disk=blank,
                    cdrom=None, console=work / "console.log", timeout=timeout, memory_mib=1024, cpus=1)
    console = run.log
    for line in console.splitlines():
        if line.startswith(MARKER):
            return int(line.split()[1]), console, run
    return None, console, run
