"""A copy-on-write view of this machine for the boot tools: real programs, private writes.

`run_in_sandbox(script)` runs a shell script in a private mount namespace where
`/etc`, `/var/lib`, `/usr/lib` and `/usr/sbin` are overlays whose writes land in the
test's temp directory, `/boot` is a temp directory, `/proc/sys/kernel/osrelease`
says the Debian kernel of tests/vm/kernel.py is running, and that kernel's modules
and /boot files are in place. Everything else (/, /dev for grub-probe, the venv, the
real update-initramfs, mkinitramfs, dracut and grub-mkconfig) is the machine's own.
So Kindling runs with the real root `/` and the real tools act on a /boot, /etc and
/var/lib that vanish with the namespace: this machine's boot configuration is never
touched (the test checks that too).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.vm.kernel import GuestKernel, fetch_kernel

__all__ = ["Sandbox", "run_in_sandbox", "sandbox_unavailable"]

TOOLS = ("unshare", "update-initramfs", "mkinitramfs", "grub-mkconfig", "grub-probe")
_OVERLAYS = ("/etc", "/var/lib", "/usr/lib", "/usr/sbin")

_PROLOGUE = """set -e
T={tmp}
for d in {overlays}; do
  n=$(echo "$d" | tr / _)
  mkdir -p "$T/up$n" "$T/work$n"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/up$n,workdir=$T/work$n" "$d"
done
mkdir -p "$T/boot" && mount --bind "$T/boot" /boot
echo {release} > "$T/osrelease" && mount --bind "$T/osrelease" /proc/sys/kernel/osrelease
mkdir -p /usr/lib/modules/{release} && mount --bind {tree}/lib/modules/{release} /usr/lib/modules/{release}
cp {tree}/boot/vmlinuz-{release} {tree}/boot/config-{release} /boot/
mkdir -p /boot/grub /etc/initramfs-tools/conf.d
echo '# placeholder: grub-mkconfig replaces it' > /boot/grub/grub.cfg
printf 'MODULES=list\\nCOMPRESS=gzip\\n' > /etc/initramfs-tools/conf.d/zz-kindling-test.conf
printf '{modules}' > /etc/initramfs-tools/modules
rm -rf /var/lib/kindling /etc/default/grub.d/90-kindling.cfg
set +e
"""


def sandbox_unavailable() -> str | None:
    """None when the sandbox can run here, else the skip reason."""
    if os.geteuid() != 0:
        return "needs root (mount namespace, overlays)"
    for tool in TOOLS:
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"needs {tool} (ci/apt-packages.txt: initramfs-tools, grub2-common)"
    return None


@dataclass(frozen=True)
class Sandbox:
    tmp: Path
    kernel: GuestKernel
    stdout: str
    returncode: int

    def upper(self, path: str) -> Path:
        """Where the sandbox's write of `path` (under an overlay or /boot) landed."""
        if path.startswith("/boot/"):
            return self.tmp / "boot" / path.removeprefix("/boot/")
        for d in _OVERLAYS:
            if path.startswith(d + "/"):
                return self.tmp / ("up" + d.replace("/", "_")) / path.removeprefix(d + "/")
        raise ValueError(path)


def run_in_sandbox(tmp: Path, script: str, *, modules: list[str], timeout: float = 300) -> Sandbox:
    """Run `script` (sh) in the sandbox; its output and exit status come back."""
    kernel = fetch_kernel()
    prologue = _PROLOGUE.format(tmp=tmp, overlays=" ".join(_OVERLAYS), release=kernel.release,
                                tree=kernel.tree, modules="".join(f"{m}\\n" for m in modules))
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", prologue + script],
                          capture_output=True, text=True, timeout=timeout, check=False)
    return Sandbox(tmp, kernel, proc.stdout + proc.stderr, proc.returncode)
