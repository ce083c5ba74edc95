"""The real consumers: update-initramfs/mkinitramfs + the hook, dracut + the kernel hooks,
grub-mkconfig sourcing /etc/default/grub.d — all against the sandbox of sandbox.py.

Kindling runs there as on a node (root `/`): `kindling apiclient apply` commits boot
settings, the bootconfig applier installs the hooks, regenerates the initrd with the
distribution's tool (whose hook appends the footer) and runs grub-mkconfig; the test
then reads the generated grub.cfg `linux` lines and the initrd's last bytes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from kindling.bootconfig.footer import read_footer
from tests.bootloader.sandbox import Sandbox, run_in_sandbox, sandbox_unavailable

pytestmark = [pytest.mark.rig,
              pytest.mark.skipif(sandbox_unavailable() is not None, reason=str(sandbox_unavailable()))]

KINDLING = Path(sys.prefix) / "bin" / "kindling"
SETTINGS = """[settings.boot.kernel-parameters]
crashkernel = ["256M"]
"kindling.vmtest" = ["bootloader"]
console = ["ttyS0"]

[settings.boot.init-parameters]
splash = []
"""
GUEST_MODULES = ["virtio_pci", "virtio_blk", "ext4", "9pnet_virtio", "9p"]


def linux_lines(grub_cfg: str) -> list[str]:
    """The kernel command lines grub-mkconfig wrote (`linux PATH ARGS…`), ARGS only."""
    return [m.group(1).strip() for m in re.finditer(r"^\s*linux\s+\S+\s+(.*)$", grub_cfg, re.M)]


def _node(tmp_path: Path, extra: str = "", *, supported: bool = False) -> Sandbox:
    settings = tmp_path / "settings.toml"
    settings.write_text(SETTINGS)
    config = ("sed -i 's/^# CONFIG_BOOT_CONFIG is not set$/CONFIG_BOOT_CONFIG=y/' /boot/config-$REL\n"
              if supported else "")
    script = f"""REL=$(cat /proc/sys/kernel/osrelease)
{config}{extra}
echo "== kindling apply"; {KINDLING} apiclient apply {settings}; echo "apply rc=$?"
echo "== install"; {KINDLING} bootconfig install --json > {tmp_path}/install.json; echo "install rc=$?"
echo "== host /etc/default/grub.d:"; ls /etc/default/grub.d
"""
    box = run_in_sandbox(tmp_path / "sb", script, modules=GUEST_MODULES)
    assert box.returncode == 0, box.stdout[-4000:]
    assert "apply rc=0" in box.stdout and "install rc=0" in box.stdout, box.stdout[-4000:]
    assert not Path("/etc/default/grub.d/90-kindling.cfg").exists()  # this machine: untouched
    return box


def test_debian_kernel_grub_initramfs_tools(tmp_path: Path) -> None:
    """Debian 12's kernel has CONFIG_BOOT_CONFIG off: every kernel parameter goes on
    the GRUB command line; with KINDLING_BOOTCONFIG_ATTACH=always the initramfs-tools
    hook still appends the footer. (tests/vm/test_vm_bootline.py boots the guest kernel
    with the command line of a grub.cfg generated this way and the initrd built this
    way; the kernel cuts the footer off without parsing it.)"""
    box = _node(tmp_path, "update-initramfs -c -k $REL\nexport KINDLING_BOOTCONFIG_ATTACH=always")
    rel = box.kernel.release
    grub = box.upper("/boot/grub/grub.cfg").read_text()
    lines = linux_lines(grub)
    assert lines and all(line.endswith("console=ttyS0 crashkernel=256M kindling.vmtest=bootloader")
                         for line in lines), lines
    dropin = box.upper("/etc/default/grub.d/90-kindling.cfg").read_text()
    assert 'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} console=ttyS0 crashkernel=256M' in dropin
    hook = box.upper("/etc/initramfs/post-update.d/kindling-bootconfig")
    assert hook.stat().st_mode & 0o111 and str(KINDLING) in hook.read_text()
    initrd = box.upper(f"/boot/initrd.img-{rel}").read_bytes()
    assert initrd[:2] in (b"\x1f\x8b", b"07") or initrd[:6] == b"070701"  # the real tool's image
    assert initrd.endswith(b"#BOOTCONFIG\n")
    assert read_footer(initrd) == ('kernel.console = "ttyS0"\nkernel.crashkernel = "256M"\n'
                                   'kernel.kindling.vmtest = "bootloader"\ninit.splash\n')
    report = json.loads((tmp_path / "install.json").read_text())
    assert report["kernel_bootconfig"] is False and report["loader"]["kind"] == "grub"
    assert {p["key"]: p["carrier"] for p in report["parameters"]} == {
        "kernel.console": "cmdline", "kernel.crashkernel": "cmdline",
        "kernel.kindling.vmtest": "cmdline", "init.splash": "none"}
    assert report["done"] == [] and report["reboot_needed"] is True  # second run: nothing to do
    (tmp_path / "linux-line").write_text(lines[0])


def test_bootconfig_kernel_grub_initramfs_tools(tmp_path: Path) -> None:
    """A kernel with CONFIG_BOOT_CONFIG=y (Fedora's, Ubuntu's): only the EARLY
    crashkernel= rides the command line, with `bootconfig`; the rest is the footer
    the hook appended when update-initramfs rebuilt the image."""
    box = _node(tmp_path, "update-initramfs -c -k $REL", supported=True)
    lines = linux_lines(box.upper("/boot/grub/grub.cfg").read_text())
    assert lines and all(line.endswith(" bootconfig crashkernel=256M") for line in lines), lines
    initrd = box.upper(f"/boot/initrd.img-{box.kernel.release}").read_bytes()
    assert read_footer(initrd).startswith('kernel.console = "ttyS0"\n')
    assert "regenerated /boot/initrd.img-" in box.stdout or "applied by bootconfig" in box.stdout
    # a later update-initramfs (kernel upgrade, a user's run) keeps the footer via the hook
    again = run_in_sandbox(tmp_path / "sb2", f"""REL=$(cat /proc/sys/kernel/osrelease)
sed -i 's/^# CONFIG_BOOT_CONFIG is not set$/CONFIG_BOOT_CONFIG=y/' /boot/config-$REL
update-initramfs -c -k $REL
{KINDLING} apiclient apply {tmp_path}/settings.toml
update-initramfs -u -k $REL; echo "update rc=$?"
tail -c 12 /boot/initrd.img-$REL""", modules=GUEST_MODULES)
    assert "update rc=0" in again.stdout and again.stdout.rstrip().endswith("#BOOTCONFIG"), again.stdout[-3000:]


def test_dracut_and_kernel_hooks(tmp_path: Path) -> None:
    """dracut (update-initramfs hidden): Kindling's `dracut -f` + footer, then the
    kernel-install plugin and the Debian postinst.d hook after a bare `dracut -f`."""
    if sandbox_unavailable() is None and not Path("/usr/bin/dracut").exists():
        pytest.skip("needs dracut (ci/apt-packages.txt: dracut-core)")
    fast = ("mkdir -p /etc/dracut.conf.d; printf 'hostonly=\"no\"\\ndracutmodules=\" base \"\\n"
            "compress=\"gzip\"\\nearly_microcode=\"no\"\\n' > /etc/dracut.conf.d/zz-kindling-test.conf\n"
            "rm /usr/sbin/update-initramfs\ndracut -q -f /boot/initramfs-$REL.img $REL")
    after = f"""
dracut -q -f /boot/initramfs-$REL.img $REL; tail -c 12 /boot/initramfs-$REL.img | grep -c BOOTCONFIG
/etc/kernel/postinst.d/zz-kindling-bootconfig $REL /boot/vmlinuz-$REL; echo "postinst rc=$?"
mkdir -p {tmp_path}/entry; dracut -q -f {tmp_path}/entry/initrd $REL
/etc/kernel/install.d/55-kindling-bootconfig.install add $REL {tmp_path}/entry /boot/vmlinuz-$REL
echo "install.d rc=$?"
"""
    settings = tmp_path / "settings.toml"
    box = _node(tmp_path, fast, supported=True)
    box2 = run_in_sandbox(tmp_path / "sb2", f"REL=$(cat /proc/sys/kernel/osrelease)\n"
                          "sed -i 's/^# CONFIG_BOOT_CONFIG is not set$/CONFIG_BOOT_CONFIG=y/' /boot/config-$REL\n"
                          f"{fast}\n{KINDLING} apiclient apply {settings}\n{after}", modules=GUEST_MODULES)
    initrd = box.upper(f"/boot/initramfs-{box.kernel.release}.img").read_bytes()
    assert read_footer(initrd).startswith('kernel.console = "ttyS0"\n')
    assert "postinst rc=0" in box2.stdout and "install.d rc=0" in box2.stdout, box2.stdout[-3000:]
    assert read_footer(box2.upper(f"/boot/initramfs-{box.kernel.release}.img").read_bytes())
    assert read_footer((tmp_path / "entry" / "initrd").read_bytes()).startswith('kernel.console')
