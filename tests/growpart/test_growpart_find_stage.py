"""Finding the data partition (udev data via umockdev, else our own GPT scan of a
planted /sys + /dev under --root), the boot stage and its systemd unit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from growpart.errors import AmbiguousLabelError, PartitionNotFoundError
from growpart.find import find_by_label
from kindling.boot import BootContext, run_boot
from kindling.host import Host, RecordingHost
from kindling.log import get
from kindling.registry import load
from tests.growpart.growpart_rig import CLI_ENV, MiB, digest, partition_span, run_cli, sgdisk_problems

REPO = Path(__file__).resolve().parents[2]


def plant(root: Path, name: str, img: Path | None = None, *, partition_of: str | None = None
          ) -> None:
    """A disk as the Host sees it under --root: sys/class/block/NAME and dev/NAME."""
    sysdir = root / "sys/class/block" / name
    sysdir.mkdir(parents=True)
    if partition_of is not None:
        (sysdir / "partition").write_text("1\n")
        return
    assert img is not None
    (root / "dev").mkdir(exist_ok=True)
    shutil.move(img, root / "dev" / name)
    (sysdir / "size").write_text(f"{os.path.getsize(root / 'dev' / name) // 512}\n")


def test_scan_finds_the_preferred_label(tmp_path: Path, image) -> None:
    plant(tmp_path, "vda", image("last"))  # BOTTLEROCKET-DATA is partition 2
    plant(tmp_path, "vda2", partition_of="vda")
    plant(tmp_path, "vdb", image("one"))  # KINDLING-DATA wins over BOTTLEROCKET-DATA
    (tmp_path / "dev/vdc").write_bytes(bytes(1024 * 1024))  # no GPT: skipped
    (tmp_path / "sys/class/block/vdc").mkdir()
    host = Host(tmp_path)
    target = find_by_label(host)
    assert (target.disk, target.number, target.label, target.via) == (
        str(tmp_path / "dev/vdb"), 1, "KINDLING-DATA", "gpt-scan")
    target = find_by_label(host, ("BOTTLEROCKET-DATA",))
    assert (target.disk, target.number) == (str(tmp_path / "dev/vda"), 2)
    with pytest.raises(PartitionNotFoundError, match="no GPT partition named NOPE"):
        find_by_label(host, ("NOPE",))


def test_label_on_two_disks_is_refused(tmp_path: Path, image) -> None:
    plant(tmp_path, "vda", image("one"))
    plant(tmp_path, "vdb", image("one"))
    with pytest.raises(AmbiguousLabelError, match="on 2 partitions"):
        find_by_label(Host(tmp_path))


def test_cli_under_root_finds_and_grows(tmp_path: Path, image) -> None:
    plant(tmp_path, "xvdb", image("one"))
    disk = tmp_path / "dev/xvdb"
    code, out, err = run_cli("--root", str(tmp_path))
    assert code == 0, err
    assert out.startswith(f"CHANGED: {disk} partition=1")
    assert sgdisk_problems(disk) == []


def test_missing_ok_for_nodes_without_a_data_partition(tmp_path: Path) -> None:
    code, out, err = run_cli("--root", str(tmp_path), "--missing-ok")
    assert code == 0, err
    assert out.startswith("SKIPPED: no GPT partition named KINDLING-DATA or BOTTLEROCKET-DATA")
    code, _, err = run_cli("--root", str(tmp_path))
    assert code == 1 and "no GPT partition named" in err


def test_udev_data_is_used_when_present(tmp_path: Path) -> None:
    if shutil.which("umockdev-run") is None:
        pytest.skip("umockdev not installed")
    devices = tmp_path / "blk.umockdev"
    devices.write_text(textwrap.dedent("""\
        P: /devices/virtual/block/vdz
        N: vdz
        E: DEVNAME=/dev/vdz
        E: DEVTYPE=disk
        E: SUBSYSTEM=block
        A: size=2097152

        P: /devices/virtual/block/vdz/vdz3
        N: vdz3
        E: DEVNAME=/dev/vdz3
        E: DEVTYPE=partition
        E: SUBSYSTEM=block
        E: ID_PART_ENTRY_NAME=BOTTLEROCKET-DATA
        E: ID_PART_ENTRY_NUMBER=3
        A: partition=3
        """))
    script = ("from kindling.host import Host; from growpart.find import find_by_label; "
              "t = find_by_label(Host('/')); print(t.disk, t.number, t.label, t.via)")
    proc = subprocess.run(["umockdev-run", "-d", str(devices), "--", sys.executable, "-c",
                           script], capture_output=True, text=True, env=CLI_ENV, check=False,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["/dev/vdz", "3", "BOTTLEROCKET-DATA", "udev"]


# -- boot stage and unit ------------------------------------------------------------


def stage_named(name: str) -> object:
    return next(s for s in load("kindling.boot_stages") if getattr(s, "name", "") == name)


def test_stage_is_registered_in_the_local_disks_band() -> None:
    stage = stage_named("growpart")
    assert 10 <= stage.order <= 19  # type: ignore[attr-defined]
    assert stage.unit == "kindling-growpart.service"  # type: ignore[attr-defined]


def test_stage_skips_a_node_without_data_partition(tmp_path: Path) -> None:
    stage = stage_named("growpart")
    result = stage.run(BootContext(Host(tmp_path), "metal", get("t")))  # type: ignore[attr-defined]
    assert result.status == "skipped"
    assert "no GPT partition named KINDLING-DATA or BOTTLEROCKET-DATA" in result.detail


def test_stage_plan_records_and_changes_nothing_then_grows(tmp_path: Path, image) -> None:
    plant(tmp_path, "nvme1n1", image("one"))
    disk = tmp_path / "dev/nvme1n1"
    before = digest(disk)
    stage = stage_named("growpart")
    report = run_boot(RecordingHost(tmp_path), "metal", stages=[stage])  # type: ignore[list-item]
    record = report.records[0]
    assert record.status == "ok" and record.detail.startswith("CHANGED:")
    assert any("primary: LBA 1-33" in a for a in record.actions)
    assert digest(disk) == before
    report = run_boot(Host(tmp_path), "metal", stages=[stage])  # type: ignore[list-item]
    assert report.records[0].status == "ok"
    assert partition_span(disk, 1) == (2048, 16 * MiB // 512 - 34)


def test_unit_verifies_and_orders_before_local_fs(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    text = (REPO / "kindling/units/kindling-growpart.service").read_text()
    assert "Before=local-fs-pre.target local-fs.target" in text
    assert "ExecStart=@KINDLING@ growpart --missing-ok" in text
    unit = tmp_path / "kindling-growpart.service"
    unit.write_text(text.replace("@KINDLING@", shutil.which("true") or "/bin/true"))
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "kindling-growpart" not in proc.stderr, proc.stderr
