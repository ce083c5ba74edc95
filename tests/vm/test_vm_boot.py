"""Issue 11: a machine boots with Kindling — disk grown, CD-ROM read, kdump armed, panic,
capture, reboot — asserted from the guest's disk image, without the guest's help.

One guest per session (conftest `vm`, tests/vm/flow.py): a first qemu run through
boot, panic, capture and the crash kernel's reboot, then the node's next boot. Each
test reads one outcome back from the image with e2fsprogs/sgdisk. Deselect with
`-m 'not vm'`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kindling.api.service import SettingsService
from kindling.host import Host
from tests.vm.disk import SECTOR
from tests.vm.flow import CRASHKERNEL_MIB, DISK_MIB, KEEP, MOTD, OLD_DUMPS, PART_MIB, VmRun

pytestmark = [pytest.mark.vm, pytest.mark.timeout(400)]

BUDGET_SECONDS = 180.0
MIB = 1024 * 1024


def _needs(vm: VmRun, outcome: str) -> None:
    if outcome in vm.missing:
        pytest.skip(f"{outcome}: {vm.missing[outcome]}")


def test_guest_boots_runs_and_exits_within_budget(vm: VmRun) -> None:
    log = vm.guest.log
    assert vm.guest.returncode == 0, f"qemu exit {vm.guest.returncode}\n{log[-3000:]}"
    assert "guest.sh exit 0 phase=boot" in log or "panicking" in log, log[-3000:]
    # The initramfs's own kexec and makedumpfile run (their libraries are complete).
    tools = re.search(r"vmtest: initramfs tools: (.*)", log)
    assert tools and "kexec-tools" in tools.group(1) and "makedumpfile: version" in tools.group(1), log[:3000]
    total = vm.seconds
    again = vm.reboot.seconds if vm.reboot else 0.0
    print(f"vm: build {vm.build_seconds:.1f} s, boot+panic+capture {vm.guest.seconds:.1f} s, "
          f"next boot {again:.1f} s, total {total:.1f} s")
    for run in (vm.guest, vm.reboot):
        if run is not None:
            print("\n".join(line for line in run.log.splitlines() if line.startswith("vmtest:")))
    assert total < BUDGET_SECONDS, f"VM flow took {total:.0f} s (budget {BUDGET_SECONDS:.0f} s)"


def test_kindling_boot_vmware_succeeds(vm: VmRun) -> None:
    assert vm.rc("boot", "boot") == 0, vm.step_log("boot", "boot")
    report = json.loads(vm.output("boot", "boot.out") or "{}")
    assert report["platform"] == "vmware" and report["ok"] is True, report
    status = {stage["name"]: stage["status"] for stage in report["stages"]}
    assert "failed" not in status.values(), status
    for stage in ("growpart", "early-boot-config", "kdump-load"):
        if stage in status:
            assert status[stage] == "ok", report
    for step in vm.boot_steps[1:]:
        assert vm.rc("boot", step) == 0, f"{step}: {vm.step_log('boot', step)}"
    # guestinfo absent (the stand-in backdoor has no keys) is no user data, not an error.
    err = vm.output("boot", "boot.err") or ""
    if "early-boot-config" in status:
        assert "no user data provider=vmware-guestinfo" in err, err


def test_cdrom_user_data_lands_in_the_datastore_on_the_guest_disk(vm: VmRun, tmp_path: Path) -> None:
    _needs(vm, "cdrom-user-data")
    # Copy the datastore (with its WAL, if the writer left one) out of the image and
    # read it with Kindling's own service, as the node would after this boot.
    root = tmp_path / "root"
    store = root / "var" / "lib" / "kindling"
    store.mkdir(parents=True)
    names = vm.disk.listdir("/var/lib/kindling")
    assert "datastore.sqlite3" in names, names
    for name in names:
        if name.startswith("datastore.sqlite3"):
            assert vm.disk.dump(f"/var/lib/kindling/{name}", store / name)
    settings = SettingsService(Host(root)).get_settings()
    assert settings.get("motd") == MOTD
    assert settings.get("kdump", {}).get("keep") == KEEP
    motd = vm.disk.read("/etc/motd")
    assert motd is not None and MOTD in motd.decode(), "motd applier did not write /etc/motd"


def test_data_partition_and_mounted_ext4_grew_to_the_end_of_the_disk(vm: VmRun) -> None:
    _needs(vm, "growpart")
    vm.disk.verify_gpt()
    (part,) = [p for p in vm.disk.partitions() if p.name == "KINDLING-DATA"]
    last_usable = DISK_MIB * MIB // SECTOR - 34  # 33 sectors of backup GPT + the header
    assert part.start == 2048
    assert part.end == last_usable, f"partition ends at {part.end}, disk's last usable sector {last_usable}"
    fs_bytes = vm.disk.fs_size_bytes()
    assert fs_bytes > PART_MIB * MIB
    assert part.size_bytes - fs_bytes < 4 * MIB, (part.size_bytes, fs_bytes)
    vm.disk.fsck()
    # Online: the guest had the filesystem mounted at --root the whole time, and its
    # own df saw the new size before unmounting.
    before = int((vm.output("boot", "df_before") or "0 0").split()[1])
    after = int((vm.output("boot", "df_after") or "0 0").split()[1])
    assert after > 3 * before, (before, after)
    if "growpart" in vm.boot_steps:
        said = vm.output("boot", "growpart.out") or ""
    else:
        report = json.loads(vm.output("boot", "boot.out") or "{}")
        said = next(s["detail"] for s in report["stages"] if s["name"] == "growpart")
    assert "online" in said, said


def test_kdump_plan_sees_the_crashkernel_reservation(vm: VmRun) -> None:
    _needs(vm, "kdump-plan")
    assert vm.rc("boot", "kdump-plan") == 0, vm.step_log("boot", "kdump-plan")
    plan = json.loads(vm.output("boot", "kdump-plan.out") or "{}")
    assert plan["reserved_now_bytes"] == CRASHKERNEL_MIB * MIB, plan
    # settings.kdump.crashkernel from the CD-ROM asks for what the kernel reserved.
    assert plan["crashkernel"] == f"{CRASHKERNEL_MIB}M", plan
    assert plan["needs_reboot"] is False, plan
    assert plan["memory_bytes"] > 0
    assert (vm.output("boot", "kexec_crash_size") or "").strip() == str(CRASHKERNEL_MIB * MIB)


def test_kdump_load_arms_the_crash_kernel(vm: VmRun) -> None:
    _needs(vm, "kdump-load")
    if "kdump-load" in vm.boot_steps:
        assert vm.rc("boot", "kdump-load") == 0, vm.step_log("boot", "kdump-load")
    else:  # the boot stage armed it
        report = json.loads(vm.output("boot", "boot.out") or "{}")
        (stage,) = [s for s in report["stages"] if s["name"] == "kdump-load"]
        assert stage["status"] == "ok" and "crash kernel loaded" in stage["detail"], stage
    assert (vm.output("boot", "kexec_crash_loaded") or "").strip() == "1"
    assert "panicking" in vm.guest.log


def test_panic_boots_the_crash_kernel_which_captures_and_reboots(vm: VmRun, tmp_path: Path) -> None:
    _needs(vm, "kdump-capture")
    log = vm.guest.log
    assert "init phase=crash" in log, log[-3000:]
    # The crash kernel got the command line `kdump load` built (our init stands in for
    # systemd and starts the capture the `systemd.unit=` names).
    cmdline = vm.output("crash", "cmdline") or ""
    assert "systemd.unit=kindling-kdump-capture.service" in cmdline, cmdline
    assert "elfcorehdr=" in cmdline and "crashkernel=" not in cmdline, cmdline
    assert vm.rc("crash", "kdump-capture") == 0, vm.step_log("crash", "kdump-capture")
    assert "guest.sh exit 0 phase=crash" in log
    assert vm.guest.returncode == 0  # the crash kernel's reboot ended qemu (-no-reboot)
    dumps = vm.disk.listdir("/var/log/kdump")
    new = [d for d in dumps if d not in OLD_DUMPS]
    assert len(new) == 1, dumps
    newest = f"/var/log/kdump/{new[0]}"
    files = vm.disk.listdir(newest)
    assert {"vmcore.dump", "dmesg.log"} <= set(files), files
    assert (vm.disk.read(f"{newest}/status") or b"").startswith(b"complete"), vm.disk.read(f"{newest}/status")
    size = vm.disk.stat_size(f"{newest}/vmcore.dump") or 0
    assert size > MIB, f"vmcore.dump is {size} bytes"
    assert vm.disk.dump(f"{newest}/vmcore.dump", tmp_path / "vmcore.dump")
    with (tmp_path / "vmcore.dump").open("rb") as f:
        assert f.read(8) == b"KDUMP   "  # makedumpfile -c: the kdump-compressed format
    dmesg = vm.disk.read(f"{newest}/dmesg.log") or b""
    assert b"sysrq: Trigger a crash" in dmesg, dmesg[-2000:]
    vm.disk.fsck()  # the crash kernel unmounted cleanly before rebooting


def test_retention_keeps_the_configured_number_of_dumps(vm: VmRun) -> None:
    _needs(vm, "kdump-capture")
    assert vm.rc("crash", "kdump-capture") == 0, vm.step_log("crash", "kdump-capture")
    dumps = vm.disk.listdir("/var/log/kdump")
    assert len(dumps) == KEEP, dumps
    # The newest old dump survives beside the new one; the oldest ones are gone.
    assert OLD_DUMPS[-1] in dumps
    assert not set(OLD_DUMPS[: len(OLD_DUMPS) - KEEP + 1]) & set(dumps)
    capture = json.loads(vm.output("crash", "kdump-capture.out") or "{}")
    assert sorted(capture["removed"]) == sorted(OLD_DUMPS[: len(OLD_DUMPS) - KEEP + 1]), capture
    # `kdump status` in the crash kernel, after the capture, saw the same.
    status = json.loads(vm.output("crash", "kdump-status.out") or "null")
    assert status is not None, vm.step_log("crash", "kdump-status")
    names = [d["name"] for d in (status["dumps"] if isinstance(status, dict) else status)]
    assert names == dumps, (names, dumps)


def test_the_node_boots_again_after_the_crash_and_the_second_boot_changes_nothing(vm: VmRun) -> None:
    assert vm.reboot is not None, f"the first run did not end cleanly (qemu exit {vm.guest.returncode})"
    log = vm.reboot.log
    assert vm.reboot.returncode == 0 and "guest.sh exit 0 phase=reboot" in log, log[-3000:]
    assert vm.rc("reboot", "boot") == 0, vm.step_log("reboot", "boot")
    report = json.loads(vm.output("reboot", "boot.out") or "{}")
    assert report["ok"] is True, report
    stages = {stage["name"]: stage for stage in report["stages"]}
    assert "failed" not in {stage["status"] for stage in stages.values()}, report
    if "growpart" in stages:
        assert stages["growpart"]["detail"].startswith("NOCHANGE"), stages["growpart"]
    if "early-boot-config" in stages:  # first-boot marker: user data is applied once
        assert stages["early-boot-config"]["status"] == "skipped", stages["early-boot-config"]
    if "kdump-capture" in vm.missing:
        return
    # Every boot re-arms the crash kernel, and the saved dumps are there to be listed.
    assert (vm.output("reboot", "kexec_crash_loaded") or "").strip() == "1"
    status = json.loads(vm.output("reboot", "kdump-status.out") or "{}")
    listed = [(d["name"], d["status"]) for d in status["dumps"]]
    assert len(listed) == KEEP and all(state == "complete" for _, state in listed), listed
