"""Boot settings on a Host: the applier writes bootconfig.data, reboot-if-required decides.

The settings go through the real SettingsService (SQLite datastore under the temp
root); `systemctl` is a recording stand-in first on the Host's PATH, because a test
must never reboot this machine.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kindling.api.service import SettingsService
from kindling.bootconfig import read_footer, write_footer
from kindling.bootconfig.service import (
    BOOTCONFIG_DATA,
    REBOOT_MARKER,
    decide_reboot,
    generate,
    import_running,
    reboot_if_required,
)
from kindling.errors import InputError
from kindling.host import FakeClock, Host, RecordingHost


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$@" >> {bin_dir}/systemctl.log\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


@pytest.fixture
def rhost(root: Path, clock: FakeClock, fake_bin: Path) -> Host:
    return Host(root, clock=clock, env={"PATH": f"{fake_bin}:{os.environ.get('PATH', '')}",
                                        "KINDLING_ACT_ON_KERNEL": "1"})


def _set(host: Host, boot: dict[str, Any]) -> None:
    SettingsService(host).set_tree({"boot": boot}, tx="test", source="test")


def _plant(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_applier_writes_bootconfig_data_on_commit(host: Host, root: Path) -> None:
    _set(host, {"kernel-parameters": {"console": ["ttyS0,115200n8"], "nosmt": []},
                "init-parameters": {"systemd.log_level": ["debug"]}})
    data = (root / BOOTCONFIG_DATA.lstrip("/")).read_bytes()
    assert len(data) % 4 == 0
    assert read_footer(data) == (
        'kernel.console = "ttyS0,115200n8"\nkernel.nosmt\ninit.systemd.log_level = "debug"\n'
    )
    assert generate(host, {"kernel-parameters": {"console": ["ttyS0,115200n8"], "nosmt": []},
                           "init-parameters": {"systemd.log_level": ["debug"]}}) == []


def test_no_parameters_writes_prairiedogs_default(host: Host, root: Path) -> None:
    assert generate(host, {}) == [f"wrote {BOOTCONFIG_DATA} (52 bytes)"]
    assert (root / BOOTCONFIG_DATA.lstrip("/")).read_bytes() == write_footer(
        '\n    kernel = ""\n    init = ""\n'
    )


def test_bad_settings_write_nothing(host: Host, root: Path, tree_snapshot: Any) -> None:
    generate(host, {"kernel-parameters": {"a": ["1"]}})
    before = tree_snapshot(root)
    with pytest.raises(InputError) as info:
        generate(host, {"kernel-parameters": {"a": ["x'\"y"]}})
    assert "settings.boot.kernel-parameters.a" in str(info.value)
    assert tree_snapshot(root) == before


def test_plan_records_the_write_and_changes_nothing(plan_host: RecordingHost, root: Path) -> None:
    done = generate(plan_host, {"kernel-parameters": {"quiet": []}})
    assert done and not (root / BOOTCONFIG_DATA.lstrip("/")).exists()
    assert any(a.startswith(f"write {BOOTCONFIG_DATA}") for a in plan_host.actions)


def test_reboots_only_when_asked_and_different(rhost: Host, root: Path, fake_bin: Path) -> None:
    _plant(root, "proc/bootconfig", 'kernel.console = "tty0"\n')
    _set(rhost, {"kernel-parameters": {"console": ["ttyS0"]}})
    decision = reboot_if_required(rhost)
    assert not decision.reboot and "reboot-to-reconcile is not true" in decision.reason
    assert decision.changed == ("kernel.console",)
    assert not (fake_bin / "systemctl.log").exists()

    _set(rhost, {"reboot-to-reconcile": True})
    decision = reboot_if_required(rhost)
    assert decision.reboot
    assert (fake_bin / "systemctl.log").read_text() == "reboot\n"
    assert (root / REBOOT_MARKER.lstrip("/")).exists()


def test_valueless_parameter_never_loops(rhost: Host, root: Path, fake_bin: Path) -> None:
    """bottlerocket#3957: `nosmt = []` with reboot-to-reconcile rebooted forever."""
    _set(rhost, {"reboot-to-reconcile": True, "kernel-parameters": {"nosmt": []}})
    # after the reboot, the kernel shows the value-less key as `= ""`
    _plant(root, "proc/bootconfig", 'kernel.nosmt = ""\n# Parameters from bootloader:\n# x\n')
    _plant(root, "proc/cmdline", "nosmt BOOT_IMAGE=/vmlinuz root=/dev/vda1\n")
    decision = reboot_if_required(rhost)
    assert not decision.reboot and decision.reason == "boot parameters match the running kernel"
    assert not (fake_bin / "systemctl.log").exists()


def test_same_difference_after_a_reboot_does_not_reboot_again(
    rhost: Host, root: Path, fake_bin: Path
) -> None:
    _plant(root, "proc/bootconfig", "")  # bootconfig support, nothing loaded
    _set(rhost, {"reboot-to-reconcile": True, "kernel-parameters": {"quiet": []}})
    assert reboot_if_required(rhost).reboot
    second = reboot_if_required(rhost)  # "after the reboot": still not applied
    assert not second.reboot and "not rebooting again" in second.reason
    assert (fake_bin / "systemctl.log").read_text() == "reboot\n"
    _plant(root, "proc/bootconfig", 'kernel.quiet = ""\n')
    assert decide_reboot(rhost).reason == "boot parameters match the running kernel"
    reboot_if_required(rhost)
    assert not (root / REBOOT_MARKER.lstrip("/")).exists()


def test_kernel_without_bootconfig_is_never_rebooted(rhost: Host, fake_bin: Path) -> None:
    _set(rhost, {"reboot-to-reconcile": True, "kernel-parameters": {"quiet": []}})
    decision = reboot_if_required(rhost)
    assert not decision.reboot and "no /proc/bootconfig" in decision.reason
    assert not (fake_bin / "systemctl.log").exists()


def test_never_reboots_this_machine_for_a_root_prefix(root: Path, fake_bin: Path) -> None:
    host = Host(root, env={"PATH": f"{fake_bin}:{os.environ.get('PATH', '')}"})
    _set(host, {"reboot-to-reconcile": True, "kernel-parameters": {"quiet": []}})
    _plant(root, "proc/bootconfig", "")
    decision = reboot_if_required(host)
    assert not decision.reboot and "not rebooting this machine" in decision.reason
    assert not (fake_bin / "systemctl.log").exists()


def test_reboot_under_plan_is_recorded(root: Path, clock: FakeClock) -> None:
    plan_host = RecordingHost(root, clock=clock, env={"KINDLING_ACT_ON_KERNEL": "1"})
    host = Host(root)
    _set(host, {"reboot-to-reconcile": True, "kernel-parameters": {"quiet": []}})
    _plant(root, "proc/bootconfig", "")
    decision = reboot_if_required(plan_host)
    assert decision.reboot
    assert "run systemctl reboot" in plan_host.actions
    assert not (root / REBOOT_MARKER.lstrip("/")).exists()


def test_import_running_fills_unset_settings_only(host: Host, root: Path) -> None:
    _plant(root, "proc/bootconfig",
           'kernel.console = "ttyS0"\nkernel.nosmt = ""\ninit.splash = ""\nftrace.x = "1"\n')
    _plant(root, "proc/cmdline", "nosmt console=ttyS0 -- splash\n")
    committed, detail = import_running(host)
    assert committed and detail == "2 kernel, 1 init parameters"
    boot = SettingsService(host).get_settings()["boot"]
    assert boot == {"kernel-parameters": {"console": ["ttyS0"], "nosmt": []},
                    "init-parameters": {"splash": []}}
    assert read_footer((root / BOOTCONFIG_DATA.lstrip("/")).read_bytes()).startswith(
        'kernel.console = "ttyS0"\n')
    assert import_running(host) == (False, "settings.boot already holds boot parameters")


def test_broken_proc_bootconfig_is_an_error_naming_it(host: Host, root: Path) -> None:
    _plant(root, "proc/bootconfig", "kernel.x = \"unterminated\n")
    with pytest.raises(InputError, match=r"/proc/bootconfig: kernel\.x: line 2:1"):
        import_running(host)


def test_parameters_over_the_kernel_limit_write_nothing(host: Host, root: Path) -> None:
    generate(host, {"kernel-parameters": {"a": ["1"]}})
    before = (root / BOOTCONFIG_DATA.lstrip("/")).read_bytes()
    huge = {f"p{i}": ["v" * 200] for i in range(200)}  # ~44 KB of bootconfig text
    with pytest.raises(InputError, match=r"settings\.boot: config is \d+ bytes; the kernel"):
        generate(host, {"kernel-parameters": huge})
    assert (root / BOOTCONFIG_DATA.lstrip("/")).read_bytes() == before
