"""kdump enabled but not armable after the reboot that should have made the reservation:
`boot` says kdump-load failed and why, the boot's verdict is failed, and cfsignal's
verdict (the run's failed stages) is FAILURE. The reboot that is still pending is not
a failure: the same node before that reboot boots "ok".

The node: GRUB (the rig's recording grub-mkconfig), settings.kdump.crashkernel = 256M
committed during boot "boot-1" (the bootconfig applier gives the loader
crashkernel=256M and records that boot id in bootloader.json); then the node boots
again ("boot-2") without crashkernel= on its command line and nothing reserved.
"""

from __future__ import annotations

import json

import pytest

from kdump.stages import KDUMP_LOAD, KDUMP_RESERVE
from kindling.api.service import SettingsService
from kindling.apply_stage import STAGE as APPLY
from kindling.boot import TIMELINE_PATH, BootContext, BootReport, Stage, StageResult, ok, run_boot
from kindling.bootconfig.stages import BOOT_SETTINGS, REBOOT_IF_REQUIRED
from kindling.bootloader.integrate import STATE
from tests.kdump.conftest import GiB, MiB, Rig

BOOT_ID = "proc/sys/kernel/random/boot_id"
CMDLINE = "BOOT_IMAGE=/vmlinuz-6.1.0-test root=/dev/vda1 ro quiet"
CANNOT_ARM = ("kdump cannot arm: the boot loader (grub) was given crashkernel=256M before this "
              "boot, but the kernel was not booted with it: is the generated configuration the "
              "one that boots? (kindling bootconfig install)")


def _cfsignal_probe(seen: dict[str, object]) -> Stage:
    """Where cfsignal runs (order 78, after kdump-load), ask its verdict function."""

    def run(ctx: BootContext) -> StageResult:
        from platforms.aws.stages import _run_verdict

        status = _run_verdict(ctx)
        seen["healthy"], seen["failed_units"] = status.healthy, status.failed_units
        return ok("probed")

    return Stage(name="cfsignal-verdict", order=78, run=run)


def _node(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit the kdump settings during boot-1, with GRUB as the boot loader."""
    from platforms.aws import system_state

    # systemd itself is fine (no failed unit): only the run's own stages can fail it
    monkeypatch.setattr(system_state, "read_system",
                        lambda host, **_: system_state.SystemStatus("running", snapshot=True))
    rig.kernel(mem_total=8 * GiB, crash_size=0, cmdline=CMDLINE)
    rig.plant(BOOT_ID, "boot-1\n")
    report = SettingsService(rig.host).set_tree(
        {"kdump": {"crashkernel": "256M"}, "boot": {"kernel-parameters": {"crashkernel": ["256M"]}}},
        tx="t", source="test")
    assert all(o.ok for o in report.applied), [(o.name, o.detail) for o in report.applied]
    state = json.loads((rig.root / STATE.lstrip("/")).read_text())
    assert state == {"loader": "grub", "words": ["crashkernel=256M"], "boot_id": "boot-1"}
    assert any(c.startswith("grub-mkconfig -o ") for c in rig.calls()), rig.calls()


def _boot(rig: Rig) -> tuple[BootReport, dict[str, tuple[str, str]], dict[str, object]]:
    seen: dict[str, object] = {}
    stages = [BOOT_SETTINGS, KDUMP_RESERVE, APPLY, KDUMP_LOAD, _cfsignal_probe(seen), REBOOT_IF_REQUIRED]
    report = run_boot(rig.host, "metal", stages=stages)
    return report, {r.name: (r.status, r.detail) for r in report.records}, seen


def test_no_reservation_after_the_reboot_fails_kdump_load_and_the_boot(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    _node(rig, monkeypatch)
    rig.plant(BOOT_ID, "boot-2\n")  # the node rebooted: crashkernel= should be in effect now
    report, status, seen = _boot(rig)
    assert status["kdump-load"] == ("failed", CANNOT_ARM), status
    assert [name for name, (state, _) in status.items() if state == "failed"] == ["kdump-load"], status
    assert report.ok is False and report.to_json()["ok"] is False
    timeline = json.loads((rig.root / TIMELINE_PATH.lstrip("/")).read_text())
    assert timeline["ok"] is False
    # cfsignal's verdict: SUCCESS iff healthy; the failed stage makes it FAILURE
    assert seen == {"healthy": False, "failed_units": ("kindling stage kdump-load",)}
    assert not any(c.startswith("kexec ") for c in rig.calls()), rig.calls()
    # reboot-if-required still runs (it depends on apply-settings, not on kdump-load)
    assert status["reboot-if-required"] == (
        "skipped", "boot parameters differ; settings.boot.reboot-to-reconcile is not true: "
        "not rebooting"), status


def test_before_that_reboot_the_same_node_boots_ok(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    _node(rig, monkeypatch)  # still boot-1: the reservation waits for the reboot
    report, status, seen = _boot(rig)
    assert status["kdump-load"][0] != "failed", status
    assert report.ok is True, status
    assert seen == {"healthy": True, "failed_units": ()}


def test_booted_with_crashkernel_but_nothing_reserved_fails(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    _node(rig, monkeypatch)
    rig.plant(BOOT_ID, "boot-2\n")
    rig.plant("proc/cmdline", CMDLINE + " crashkernel=256M\n")  # the kernel could not reserve it
    report, status, _ = _boot(rig)
    assert status["kdump-load"] == (
        "failed", "kdump cannot arm: booted with crashkernel=256M but the kernel reserved nothing "
        "(/sys/kernel/kexec_crash_size is 0): see dmesg for 'crashkernel'"), status
    assert report.ok is False
    rig.plant("sys/kernel/kexec_crash_size", f"{256 * MiB}\n")  # reserved: arms
    report, status, _ = _boot(rig)
    assert status["kdump-load"] == ("ok", "crash kernel loaded (kexec_file_load)"), status
    assert report.ok is True
