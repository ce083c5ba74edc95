"""Boot-loader integration on planted roots: carriers, the GRUB drop-in, BLS, bad input.

The real consumers (grub-mkconfig, update-initramfs + the hook, the kernel in qemu)
are in test_rigs.py and tests/vm/test_vm_bootline.py; here the failing tools are
stand-ins first on the Host's PATH (the documented seam), which is the only way to
make a real grub-mkconfig or update-initramfs fail on demand.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kindling.api.service import SettingsService
from kindling.bootconfig.boot_params import BootParams
from kindling.bootconfig.footer import read_footer, write_footer
from kindling.bootconfig.service import decide_reboot
from kindling.bootloader.bls import edit_entry
from kindling.bootloader.carriers import (
    BOOTCONFIG,
    CMDLINE,
    NOWHERE,
    assign,
    cmdline_tokens,
    early_params,
    in_effect,
)
from kindling.bootloader.errors import BootLoaderError
from kindling.bootloader.grub import DROPIN, render_dropin
from kindling.bootloader.initrd import attach_footer, footer_text
from kindling.bootloader.integrate import STATE, carriers_now, integrate
from kindling.host import FakeClock, Host

RELEASE = "6.1.0-57-amd64"


def _params(**kernel: tuple[str, ...]) -> BootParams:
    return BootParams(kernel=dict(kernel))


def test_early_parameters_come_from_the_kernel_docs() -> None:
    early = early_params()
    assert {"crashkernel", "mem", "cma", "nosmt", "memmap", "earlycon"} <= early
    assert not {"console", "root", "systemd.unit", "hugepages"} & early


def test_crashkernel_rides_the_command_line_even_with_bootconfig() -> None:
    params = BootParams(kernel={"crashkernel": ("256M",), "console": ("ttyS0",)},
                        init={"splash": ()})
    carried = {c.key: c.carrier for c in assign(params, kernel_bootconfig=True, loader="grub")}
    assert carried == {"kernel.crashkernel": CMDLINE, "kernel.console": BOOTCONFIG,
                       "init.splash": BOOTCONFIG}
    words = cmdline_tokens(assign(params, kernel_bootconfig=True, loader="grub"))
    assert words == ["bootconfig", "crashkernel=256M"]


def test_without_kernel_bootconfig_everything_kernel_goes_on_the_command_line() -> None:
    params = BootParams(kernel={"crashkernel": ("256M",), "console": ("ttyS0", "tty0"),
                                "nosmt": ()}, init={"splash": ()})
    carried = assign(params, kernel_bootconfig=False, loader="grub")
    assert {c.key: c.carrier for c in carried} == {
        "kernel.console": CMDLINE, "kernel.crashkernel": CMDLINE, "kernel.nosmt": CMDLINE,
        "init.splash": NOWHERE}
    assert cmdline_tokens(carried) == ["console=ttyS0", "console=tty0", "crashkernel=256M", "nosmt"]


def test_in_effect_reads_proc_cmdline_like_the_kernel() -> None:
    [ck] = assign(_params(crashkernel=("256M",)), kernel_bootconfig=False, loader="grub")
    assert in_effect(ck, "BOOT_IMAGE=/vmlinuz ro crashkernel=128M crashkernel=256M", None)
    assert not in_effect(ck, "ro crashkernel=256M crashkernel=128M", None)  # the last one wins
    assert not in_effect(ck, "ro -- crashkernel=256M", None)  # an init argument
    [bare] = assign(_params(nosmt=()), kernel_bootconfig=False, loader="grub")
    assert in_effect(bare, "ro nosmt quiet", None) and not in_effect(bare, "ro quiet", None)


def test_dropin_quotes_for_the_shell_that_sources_it() -> None:
    text = render_dropin(["crashkernel=256M", 'x="a b"', "y=$(reboot)"])
    assert text.endswith('GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} crashkernel=256M '
                         'x=\\"a b\\" y=\\$(reboot)"\n')


def test_bls_entry_edit_replaces_only_our_words() -> None:
    entry = "title Debian\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=/dev/vda1 ro crashkernel=128M\n"
    once = edit_entry(entry, ["crashkernel=128M"], ["crashkernel=256M"], None)
    assert once.splitlines()[-1] == "options root=/dev/vda1 ro crashkernel=256M"
    twice = edit_entry(once, ["crashkernel=256M"], ["bootconfig"], "/kindling/bootconfig.data")
    assert twice.splitlines()[-2:] == ["options root=/dev/vda1 ro bootconfig",
                                       "initrd /kindling/bootconfig.data"]
    assert edit_entry(twice, ["bootconfig"], ["bootconfig"], "/kindling/bootconfig.data") == twice


def test_footer_is_replaced_not_stacked(tmp_path: Path, clock: FakeClock) -> None:
    host = Host(tmp_path, clock=clock)
    initrd = tmp_path / "initrd.img"
    initrd.write_bytes(b"\x1f\x8b" + b"cpio" * 1001)
    assert attach_footer(host, "/initrd.img", 'kernel.a = "1"\n')
    assert not attach_footer(host, "/initrd.img", 'kernel.a = "1"\n')
    assert attach_footer(host, "/initrd.img", 'kernel.b = "2"\n')
    data = initrd.read_bytes()
    assert data.startswith(b"\x1f\x8b" + b"cpio" * 1001) and len(data) % 4 == 0
    assert read_footer(data) == 'kernel.b = "2"\n'
    assert footer_text(host, "/initrd.img") == (4006, 'kernel.b = "2"\n')


# ---- planted nodes: GRUB with stand-in tools ------------------------------------------

@pytest.fixture
def node(tmp_path: Path, clock: FakeClock) -> tuple[Host, Path, Path]:
    root = tmp_path / "root"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("grub-mkconfig", "update-initramfs"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {bin_dir}/calls.log\n'
                          f'[ -f {bin_dir}/{name}.fail ] && {{ echo "{name}: error: broken" >&2; exit 4; }}\n'
                          "exit 0\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    for rel, text in (("boot/grub/grub.cfg", "# old grub.cfg\n"),
                      (f"boot/config-{RELEASE}", "# CONFIG_BOOT_CONFIG is not set\n"),
                      ("proc/sys/kernel/osrelease", RELEASE + "\n"), ("proc/cmdline", "ro quiet\n"),
                      ("proc/sys/kernel/random/boot_id", "boot-1\n")):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    host = Host(root, clock=clock, env={"PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
                                        "KINDLING_ACT_ON_KERNEL": "1"})
    return host, root, bin_dir


def _commit(host: Host, boot: dict[str, Any]) -> list[str]:
    report = SettingsService(host).set_tree({"boot": boot}, tx="t", source="test")
    return [f"{o.name}: {'ok' if o.ok else 'failed'}: {o.detail}" for o in report.applied]


def test_commit_writes_dropin_and_regenerates_grub(node: tuple[Host, Path, Path]) -> None:
    host, root, bin_dir = node
    outcome = _commit(host, {"kernel-parameters": {"crashkernel": ["256M"], "console": ["ttyS0"]}})
    assert outcome[0].startswith("bootconfig: ok"), outcome
    assert (root / DROPIN.lstrip("/")).read_text().endswith(
        'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} console=ttyS0 crashkernel=256M"\n')
    assert (bin_dir / "calls.log").read_text() == f"grub-mkconfig -o {root}/boot/grub/grub.cfg\n"
    state = json.loads((root / STATE.lstrip("/")).read_text())
    assert state == {"loader": "grub", "words": ["console=ttyS0", "crashkernel=256M"], "boot_id": "boot-1"}
    # the same comparison for reboot-if-required: pending until booted with them
    status, loader = carriers_now(host, {"kernel-parameters": {"crashkernel": ["256M"]}})
    assert loader == "grub" and [(c.carrier, effect) for c, effect in status] == [(CMDLINE, False)]
    (root / "proc/cmdline").write_text("ro quiet console=ttyS0 crashkernel=256M\n")
    assert decide_reboot(host).reason == "boot parameters match the running kernel"
    # unchanged settings: grub-mkconfig is not run again
    _commit(host, {"kernel-parameters": {"crashkernel": ["256M"], "console": ["ttyS0"]}})
    assert (bin_dir / "calls.log").read_text().count("grub-mkconfig") == 1


def test_failed_grub_mkconfig_names_the_step_and_restores_the_dropin(node: tuple[Host, Path, Path]) -> None:
    host, root, bin_dir = node
    _commit(host, {"kernel-parameters": {"crashkernel": ["256M"]}})
    before = (root / DROPIN.lstrip("/")).read_text()
    (bin_dir / "grub-mkconfig.fail").write_text("")
    with pytest.raises(BootLoaderError) as err:
        integrate(host, {"kernel-parameters": {"crashkernel": ["512M"]}})
    assert str(err.value).startswith("boot loader: regenerate the GRUB configuration: grub-mkconfig -o ")
    assert "grub-mkconfig: error: broken" in str(err.value) and "put back as it was" in str(err.value)
    assert (root / DROPIN.lstrip("/")).read_text() == before
    assert (root / "boot/grub/grub.cfg").read_text() == "# old grub.cfg\n"
    assert json.loads((root / STATE.lstrip("/")).read_text())["words"] == ["crashkernel=256M"]


def test_unidentifiable_boot_loader_is_an_error(node: tuple[Host, Path, Path]) -> None:
    host, root, _ = node
    (root / "boot/grub/grub.cfg").unlink()
    with pytest.raises(BootLoaderError) as err:
        integrate(host, {"kernel-parameters": {"crashkernel": ["256M"]}})
    assert str(err.value).startswith("boot loader: identify: cannot identify the boot loader")
    assert "settings.boot.loader" in str(err.value)
    assert not (root / DROPIN.lstrip("/")).exists()
    assert integrate(host, {"loader": "none"}).loader.kind == "none"


def test_no_parameters_need_no_boot_loader_until_one_was_carried(node: tuple[Host, Path, Path]) -> None:
    """A direct-kernel boot (qemu -kernel) with /boot but no loader and no parameters is fine;
    once the loader carried words, removing them needs the loader again."""
    host, root, _ = node
    (root / "boot/grub/grub.cfg").unlink()
    result = integrate(host, {})
    assert result.loader.kind == "none" and result.words == [] and result.done == []
    assert not (root / STATE.lstrip("/")).exists()
    (root / STATE.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    (root / STATE.lstrip("/")).write_text(json.dumps({"loader": "grub", "words": ["quiet"], "boot_id": ""}))
    with pytest.raises(BootLoaderError, match="cannot identify the boot loader"):
        integrate(host, {})


def test_failed_initrd_tool_names_the_step_and_leaves_all_in_place(node: tuple[Host, Path, Path]) -> None:
    host, root, bin_dir = node
    (root / f"boot/config-{RELEASE}").write_text("CONFIG_BOOT_CONFIG=y\n")
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/update-initramfs").write_text("")  # the tool is installed
    initrd = root / f"boot/initrd.img-{RELEASE}"
    initrd.write_bytes(b"old initrd")
    (bin_dir / "update-initramfs.fail").write_text("")
    with pytest.raises(BootLoaderError) as err:
        integrate(host, {"kernel-parameters": {"console": ["ttyS0"]}}, executable="/usr/bin/kindling")
    assert str(err.value).startswith(f"boot loader: regenerate the initrd: update-initramfs -u -k {RELEASE} failed")
    assert initrd.read_bytes() == b"old initrd" and not (root / DROPIN.lstrip("/")).exists()
    hook = root / "etc/initramfs/post-update.d/kindling-bootconfig"
    assert hook.stat().st_mode & 0o777 == 0o755 and "'/usr/bin/kindling'" in hook.read_text()
    # the tool works again: it runs, and the footer ends the initrd (the stand-in has no hook)
    (bin_dir / "update-initramfs.fail").unlink()
    done = integrate(host, {"kernel-parameters": {"console": ["ttyS0"]}}, executable="/usr/bin/kindling").done
    assert any("regenerated" in d for d in done)
    assert read_footer(initrd.read_bytes()) == 'kernel.console = "ttyS0"\n'
    assert (root / DROPIN.lstrip("/")).read_text().endswith('"${GRUB_CMDLINE_LINUX} bootconfig"\n')


def test_systemd_boot_entries_get_options_and_the_footer_initrd(tmp_path: Path, clock: FakeClock) -> None:
    root = tmp_path
    entry = root / "boot/efi/loader/entries/debian.conf"
    entry.parent.mkdir(parents=True)
    (root / "boot/efi/loader/loader.conf").write_text("timeout 3\n")
    entry.write_text("title Debian\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=/dev/vda1 ro\n")
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/bootconfig").write_text("")
    host = Host(root, clock=clock)
    result = integrate(host, {"kernel-parameters": {"crashkernel": ["256M"], "console": ["ttyS0"]}})
    assert result.loader.kind == "systemd-boot"
    assert entry.read_text().splitlines()[-2:] == ["options root=/dev/vda1 ro bootconfig crashkernel=256M",
                                                   "initrd /kindling/bootconfig.data"]
    data = (root / "boot/efi/kindling/bootconfig.data").read_bytes()
    assert data == write_footer('kernel.console = "ttyS0"\nkernel.crashkernel = "256M"\n')
