"""`kindling kdump …` end to end, and the kdump + boot-settings stages in one boot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kdump.stages import KDUMP_LOAD, KDUMP_RESERVE
from kindling.apply_stage import STAGE as APPLY
from kindling.boot import run_boot
from kindling.bootconfig import read_footer
from kindling.bootconfig.stages import BOOT_SETTINGS, REBOOT_IF_REQUIRED
from tests.kdump.conftest import GiB, MiB, Rig

REPO = Path(__file__).resolve().parents[2]
STAGES = [BOOT_SETTINGS, KDUMP_RESERVE, APPLY, KDUMP_LOAD, REBOOT_IF_REQUIRED]


def kindling(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=f"{rig.bin}:{os.environ['PATH']}",
               KINDLING_ACT_ON_KERNEL="1")
    argv = [sys.executable, "-m", "kindling.cli", "kdump", *args, "--root", str(rig.root)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


def test_plan_json_and_reserve(rig: Rig) -> None:
    rig.kernel(mem_total=16 * GiB)
    plan = json.loads(kindling(rig, "plan", "--json").stdout)
    assert {"memory_bytes", "crashkernel", "reserved_now_bytes", "needs_reboot"} <= set(plan)
    assert plan["crashkernel"] == "1G-4G:192M,4G-64G:256M,64G-:512M"
    assert plan["needs_reboot"] is True and plan["written"] == []
    dry = kindling(rig, "plan", "--reserve", "--plan")
    assert dry.returncode == 0 and "plan:          datastore: commit kdump" in dry.stdout
    assert not (rig.root / "var/lib/kindling/bootconfig.data").exists()
    real = kindling(rig, "plan", "--reserve")
    assert "done:          settings.boot.kernel-parameters.crashkernel" in real.stdout
    assert "kernel.crashkernel" in read_footer(
        (rig.root / "var/lib/kindling/bootconfig.data").read_bytes())


def test_load_capture_status(rig: Rig) -> None:
    rig.kernel(crash_size=0)
    out = kindling(rig, "load")
    assert out.returncode == 0 and "kexec_crash_size is 0" in out.stdout
    refused = kindling(rig, "capture")
    assert refused.returncode == 1 and "not running in a crash kernel" in refused.stderr
    assert kindling(rig, "status").stdout == ("reserved:      0 B\nloaded:        no\n"
                                              "last capture:  none\nno crash dumps\n")
    rig.plant("proc/vmcore", b"\0" * 4096)
    saved = kindling(rig, "capture", "--json")
    assert saved.returncode == 0 and json.loads(saved.stdout)["complete"] is True
    status = json.loads(kindling(rig, "status", "--json").stdout)
    assert [d["status"] for d in status["dumps"]] == ["complete"]
    assert status["reserved_bytes"] == 0 and status["loaded"] is False
    assert status["last_capture"]["name"] == status["dumps"][0]["name"]


def test_one_boot_reserves_generates_and_loads(rig: Rig) -> None:
    rig.kernel(mem_total=8 * GiB, crash_size=256 * MiB, cmdline="root=/dev/vda1 crashkernel=256M")
    rig.plant("proc/bootconfig", 'kernel.console = "ttyS0"\n')
    report = run_boot(rig.host, "metal", stages=STAGES)
    status = {r.name: (r.status, r.detail) for r in report.records}
    assert status["boot-settings"] == ("ok", "1 kernel, 0 init parameters")
    assert status["kdump-reserve"][0] == "ok"
    assert status["kdump-load"] == ("ok", "crash kernel loaded (kexec_file_load)")
    assert status["reboot-if-required"][0] == "skipped"
    text = read_footer((rig.root / "var/lib/kindling/bootconfig.data").read_bytes())
    assert text == ('kernel.console = "ttyS0"\n'
                    'kernel.crashkernel = "1G-4G:192M,4G-64G:256M,64G-:512M"\n')
    assert (rig.root / "proc/sys/kernel/kexec_load_disabled").read_text() == "1\n"
    # A second boot: apply-settings runs once more, because kdump-load, after it, wrote
    # the panic_on_oops sysctl file it reads; everything else is as the stages left it.
    rig.plant("sys/kernel/kexec_crash_loaded", "1\n")
    rig.plant("proc/sys/kernel/kexec_load_disabled", "1\n")
    again = {r.name: r.status for r in run_boot(rig.host, "metal", stages=STAGES).records}
    assert again == {"boot-settings": "skipped", "kdump-reserve": "skipped",
                     "apply-settings": "ok", "kdump-load": "skipped",
                     "reboot-if-required": "skipped"}
    # The boot after that has nothing to redo: every stage is skipped on its fingerprint.
    third = {r.name: (r.status, r.detail) for r in run_boot(rig.host, "metal", stages=STAGES).records}
    assert {name: status for name, (status, _d) in third.items()} == dict.fromkeys(again, "skipped")
    assert third["apply-settings"][1] == "inputs unchanged since the last boot"


def test_boot_plan_runs_every_stage_and_changes_nothing(rig: Rig) -> None:
    rig.kernel(mem_total=8 * GiB, crash_size=256 * MiB)
    rig.plant("proc/bootconfig", 'kernel.console = "ttyS0"\n')
    report = run_boot(rig.plan_host, "metal", stages=STAGES)
    assert report.ok, [(r.name, r.detail) for r in report.records]
    assert not (rig.root / "var").exists()
    assert rig.calls() == []
    load = next(r for r in report.records if r.name == "kdump-load")
    assert any(a.startswith("run kexec -p -s ") for a in load.actions)


def test_load_respects_enabled_false(rig: Rig) -> None:
    from kindling.api.service import SettingsService

    rig.kernel(crash_size=256 * MiB)
    SettingsService(rig.host).set_tree({"kdump": {"enabled": False}}, tx="t", source="test")
    out = kindling(rig, "load", "--disable-kexec-load")
    assert out.returncode == 0 and "settings.kdump.enabled is false" in out.stdout
    assert rig.calls() == []


def test_capture_survives_an_unreadable_datastore(rig: Rig) -> None:
    rig.plant("proc/vmcore", b"\0" * 4096)
    (rig.root / "var/lib/kindling/datastore.sqlite3").mkdir(parents=True)  # unopenable
    out = kindling(rig, "capture")
    assert out.returncode == 0, out.stderr
    assert "settings unreadable" in out.stderr and "saved the dump in /var/log/kdump/" in out.stdout
