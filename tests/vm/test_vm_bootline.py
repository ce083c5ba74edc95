"""The kernel itself as the consumer of Kindling's boot-loader integration.

A node whose settings ask for `crashkernel=256M` (settings.kdump) and boot parameters
(settings.boot.kernel-parameters) gets its GRUB configuration from Kindling and this
machine's grub-mkconfig, and its initrd from the real update-initramfs/mkinitramfs
with Kindling's post-update.d hook appending bootconfig.data (tests/vm/bootline.py).
The qemu guest is booted with the command line GRUB builds from the generated `linux`
line — nothing added — and with that initrd, byte for byte: Debian's initramfs /init
mounts the `root=` the line names and hands over. Inside, /proc/cmdline is that line,
the kernel reserved the crash kernel's memory, `kindling boot` arms kdump and says no
reboot is needed, and `kdump status` reports the reservation and the loaded crash
kernel.

The Debian 12 kernel has CONFIG_BOOT_CONFIG off, so /proc/bootconfig cannot show the
footer: Kindling then carries every parameter on the command line and adds no
`bootconfig` word (the kernel would warn about it), and the test asserts what this
kernel does with the footer — since Linux 5.7 (de462e5f1071, "bootconfig: Fix to
remove bootconfig data from initrd while boot") it cuts the footer off the initrd even
without CONFIG_BOOT_CONFIG, so the initramfs unpacker never reports it as junk.
Deselect with `-m 'not vm'`.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.bootconfig.footer import read_footer, split_footer
from tests.bootloader.sandbox import sandbox_unavailable
from tests.vm.bootline import CRASHKERNEL, USER_WORD, BootlineRun, RootUnsupported, boot_bootline
from tests.vm.flow import ARTIFACTS
from tests.vm.qemu import qemu_available

pytestmark = [pytest.mark.vm, pytest.mark.timeout(240)]

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BootlineRun]:
    reason = qemu_available() or sandbox_unavailable()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("bootline")
    try:
        result = boot_bootline(workdir)
    except RootUnsupported as exc:
        pytest.skip(str(exc))
    yield result
    if os.environ.get("KINDLING_VM_KEEP"):
        print(f"\nbootline console log: {result.guest.console}")


def _fail(run: BootlineRun, what: str) -> str:
    """The message of a failed assertion: what, the console's tail, where it was kept."""
    ARTIFACTS.mkdir(exist_ok=True)
    kept = ARTIFACTS / "bootline-console.log"
    if run.guest.console.exists():
        kept.write_bytes(run.guest.console.read_bytes())
    tail = "\n".join(run.guest.log.splitlines()[-40:])
    return f"{what}\nconsole log kept at {kept}\n{tail}"


def test_the_generated_grub_line_is_the_guest_kernels_command_line(run: BootlineRun) -> None:
    assert not run.guest.timed_out, _fail(run, f"guest hung: killed after {run.guest.seconds:.0f} s")
    assert run.guest.returncode == 0 and "guest.sh exit 0 phase=boot" in run.guest.log, _fail(run, "guest failed")
    words = run.cmdline.split()
    # what Kindling put on the command line, carried by GRUB (not bootconfig: the Debian
    # kernel has no CONFIG_BOOT_CONFIG), and nothing the rig added
    assert f"crashkernel={CRASHKERNEL}" in words and USER_WORD in words and "console=ttyS0" in words, words
    assert words[0].startswith("BOOT_IMAGE=") and "panic=-1" not in words, words
    install = json.loads(run.install_json)
    assert install["loader"]["kind"] == "grub" and install["cmdline"] == [
        "console=ttyS0", f"crashkernel={CRASHKERNEL}", USER_WORD], install
    # no CONFIG_BOOT_CONFIG in this kernel: Kindling says so and leaves `bootconfig` off
    assert install["kernel_bootconfig"] is False and "bootconfig" not in words, (install, words)
    assert (run.output("cmdline") or "").rstrip("\n") == run.cmdline
    print(f"\nbootline: build {run.build_seconds:.1f} s, guest {run.guest.seconds:.1f} s; "
          f"/proc/cmdline = {run.cmdline}")


def test_the_guest_booted_the_initrd_update_initramfs_and_the_hook_built(run: BootlineRun) -> None:
    rel = run.node.kernel.release
    update = run.node.stdout.partition("== update")[2]
    # the last plain `update-initramfs -u` rebuilt the image; the hook attached the footer
    assert f"Generating /boot/initrd.img-{rel}" in update and "update rc=0" in update, update
    assert f"/boot/initrd.img-{rel}: bootconfig attached" in update, update
    image = run.initrd.read_bytes()
    data = run.node.upper("/var/lib/kindling/bootconfig.data").read_bytes()
    footer = read_footer(image, source=str(run.initrd))
    assert footer == read_footer(data) and footer.endswith("\n"), footer
    for line in ('kernel.console = "ttyS0"', f'kernel.crashkernel = "{CRASHKERNEL}"',
                 'kernel.kindling.vmtest = "bootloader"'):
        assert line in footer.splitlines(), footer
    # before the footer: mkinitramfs's one gzip'd cpio, Debian's initramfs-tools inside
    inflate = zlib.decompressobj(wbits=31)
    cpio = inflate.decompress(image)
    assert inflate.eof and b"TRAILER!!!" in cpio, "the initrd is not one gzip'd cpio"
    for name in (b"init", b"scripts/local", b"conf/initramfs.conf"):  # newc: c_check, name, NUL
        assert b"00000000" + name + b"\0" in cpio, name
    assert split_footer(inflate.unused_data)[1] == footer and inflate.unused_data.startswith(
        footer.encode()), "bytes after the archive are not exactly Kindling's footer"
    assert run.disk.read(f"/boot/initrd.img-{rel}") == image  # what kdump load arms, too


def test_debian_initramfs_mounted_the_root_line_and_handed_over(run: BootlineRun) -> None:
    handed = re.search(r"^vmtest: handed over by an initramfs \(rootmnt=(\S*)\); root: (.*)$",
                       run.guest.log, re.M)
    assert handed is not None, _fail(run, "the guest's /sbin/init was not started by an initramfs")
    assert handed.group(1) == "/root", handed.group(0)  # Debian's /init exports rootmnt=/root
    device, mountpoint, fstype, options = handed.group(2).split()[:4]
    assert (device, mountpoint, fstype) == ("/dev/vda", "/", "ext4"), handed.group(0)
    assert options.split(",")[0] == "ro", handed.group(0)  # `ro` from the GRUB line


def test_the_kernel_took_the_footer_without_complaint(run: BootlineRun) -> None:
    dmesg = run.output("dmesg") or ""
    assert re.search(r"(Trying to unpack rootfs image as initramfs|Unpacking initramfs)\.\.\.", dmesg), \
        _fail(run, "no initramfs unpack in dmesg")
    for complaint in ("Initramfs unpacking failed", "invalid magic", "junk", "rootfs image is not initramfs",
                      "bootconfig"):
        assert complaint not in dmesg, [ln for ln in dmesg.splitlines() if complaint in ln]
    # CONFIG_BOOT_CONFIG off: the kernel removed the footer but does not parse it
    assert run.output("bootconfig") == "absent\n"


def test_crashkernel_from_settings_is_a_real_reservation(run: BootlineRun) -> None:
    size = (run.output("kexec_crash_size") or "").strip()
    assert size == str(256 * MIB), _fail(run, f"/sys/kernel/kexec_crash_size: {size!r}")
    assert "Crash kernel" in (run.output("iomem_crash") or ""), _fail(run, "no 'Crash kernel' in /proc/iomem")


def test_kindling_boot_arms_kdump_and_needs_no_reboot(run: BootlineRun) -> None:
    assert run.output("boot.rc") == "0\n", _fail(run, run.step_log("boot"))
    report = json.loads(run.output("boot.out") or "{}")
    stages = {s["name"]: (s["status"], s["detail"]) for s in report["stages"]}
    assert report["ok"] is True, stages
    assert stages["kdump-load"][0] == "ok" and "crash kernel loaded" in stages["kdump-load"][1], stages
    assert stages["reboot-if-required"] == ("skipped", "boot parameters match the running kernel"), stages
    assert (run.output("kexec_crash_loaded") or "").strip() == "1"


def test_kdump_plan_and_status_report_reserved_and_loaded(run: BootlineRun) -> None:
    assert run.output("kdump-plan.rc") == "0\n", _fail(run, run.step_log("kdump-plan"))
    plan = json.loads(run.output("kdump-plan.out") or "{}")
    assert plan["crashkernel"] == CRASHKERNEL and plan["reserved_now_bytes"] == 256 * MIB, plan
    assert plan["needs_reboot"] is False, plan
    carried = plan["carried_by"]
    assert (carried["carrier"], carried["loader"], carried["in_effect"]) == ("cmdline", "grub", True), plan
    assert carried["rebooted_since"] is True, plan  # the guest's boot id is not the node's
    assert run.output("kdump-status.rc") == "0\n", _fail(run, run.step_log("kdump-status"))
    status = json.loads(run.output("kdump-status.out") or "{}")
    assert status["reserved_bytes"] == 256 * MIB and status["loaded"] is True, status


def test_the_node_machine_kept_its_own_boot_configuration(run: BootlineRun) -> None:
    assert not Path("/etc/default/grub.d/90-kindling.cfg").exists()
