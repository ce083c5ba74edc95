"""`kindling growpart` on image files: growth, idempotence, plans, the cloud-utils end,
and every bad input of issue 5 refused with the image unchanged (hash before/after)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import struct
import subprocess
import threading
from pathlib import Path

import pytest

from tests.growpart.growpart_rig import NOT_AT_END, MiB, digest, partition_span, run_cli, sgdisk_problems, sh

SECTORS_16M = 16 * MiB // 512
LAST_USABLE_16M = SECTORS_16M - 34


def test_grows_to_last_usable_lba_and_verifies(image) -> None:
    img = image("one")
    assert sgdisk_problems(img) == [NOT_AT_END]  # enlarged: backup not at the end yet
    code, out, err = run_cli("--device", str(img), "--partition", "1")
    assert code == 0, err
    assert out.startswith(f"CHANGED: {img} partition=1 start=2048")
    assert f"new: size={LAST_USABLE_16M - 2048 + 1} end={LAST_USABLE_16M}" in out
    assert "image file" in out
    assert sgdisk_problems(img) == []
    assert partition_span(img, 1) == (2048, LAST_USABLE_16M)
    name = sh("sgdisk", "-i", "1", str(img)).stdout
    assert "Partition name: 'KINDLING-DATA'" in name
    # the protective MBR now covers the whole disk, as sfdisk writes it
    mbr = Path(img).read_bytes()[:512]
    assert struct.unpack_from("<I", mbr, 446 + 12)[0] == SECTORS_16M - 1


def test_second_run_changes_nothing_and_says_so(image) -> None:
    img = image("one")
    assert run_cli("--device", str(img))[0] == 0
    before = digest(img)
    code, out, _ = run_cli("--device", str(img))
    assert code == 0
    assert out.startswith("NOCHANGE:")
    assert digest(img) == before


def test_same_end_as_cloud_utils_growpart(image) -> None:
    if shutil.which("growpart") is None:
        pytest.skip("cloud-utils growpart (cloud-guest-utils) not installed")
    for template in ("one", "last"):
        ours, theirs = image(template, 24 * MiB), image(template, 24 * MiB)
        number = "1" if template == "one" else "2"
        assert digest(ours) == digest(theirs)
        assert run_cli("--device", str(ours), "--partition", number)[0] == 0
        sh("growpart", str(theirs), number)
        assert partition_span(ours, int(number)) == partition_span(theirs, int(number))
        assert sgdisk_problems(ours) == sgdisk_problems(theirs) == []


def test_numbered_first_but_physically_last(image) -> None:
    img = image("odd")
    code, out, err = run_cli("--device", str(img))
    assert code == 0, err
    assert out.startswith(f"CHANGED: {img} partition=1 start=4096")
    assert partition_span(img, 1) == (4096, LAST_USABLE_16M)
    assert partition_span(img, 2) == (2048, 4095)  # start matches size: untouched
    assert sgdisk_problems(img) == []
    assert "partition 1 follows it" in refused(image("odd"), "--partition", "2")


def test_label_choice_on_a_disk(image) -> None:
    img = image("last")
    code, out, err = run_cli("--device", str(img))  # default labels: BOTTLEROCKET-DATA is #2
    assert code == 0, err
    assert "partition=2" in out
    img2 = image("last")
    code, out, err = run_cli("--device", str(img2), "--label", "EFI")
    assert code == 1
    assert "not the last" in err


def test_plan_prints_the_writes_and_changes_nothing(image) -> None:
    img = image("one")
    before = digest(img)
    code, out, err = run_cli("--device", str(img), "--plan")
    assert code == 0, err
    assert "plan (nothing was done):" in out
    assert f"write {img} backup-array: LBA {SECTORS_16M - 33}-{SECTORS_16M - 2}" in out
    assert f"write {img} primary: LBA 1-33" in out
    assert digest(img) == before
    code, out, _ = run_cli("--device", str(img), "--dry-run", "--json")
    report = json.loads(out)
    assert report["table"] == "changed" and report["new_end"] == LAST_USABLE_16M
    assert any(a.startswith("fsync") for a in report["plan"])
    assert digest(img) == before


def test_gain_under_one_mib_is_ignored(image) -> None:
    img = image("one", grow_to=None)
    sh("sgdisk", "-e", str(img))  # nothing to move yet; keep it clean
    os.truncate(img, 8 * MiB + 512 * 1024)
    code, out, _ = run_cli("--device", str(img), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["new_end"] == report["old_end"]  # partition untouched
    # the backup header did move to the end so the disk verifies cleanly
    assert sgdisk_problems(img) == []
    code, out, _ = run_cli("--device", str(img))
    assert out.startswith("NOCHANGE:")


def test_ext4_in_an_image_file_is_reported_not_truncated(image) -> None:
    img = image("one", grow_to=None)
    first, last = partition_span(img, 1)
    sh("mkfs.ext4", "-q", "-E", f"offset={first * 512}", str(img), f"{(last - first + 1) // 2}k")
    os.truncate(img, 16 * MiB)
    code, out, err = run_cli("--device", str(img))
    assert code == 0, err
    assert "ext4 in an image file is not grown in place" in out
    assert os.path.getsize(img) == 16 * MiB
    assert sgdisk_problems(img) == []


# -- bad input: a clear error, the image unchanged ---------------------------------


def refused(img: Path, *args: str) -> str:
    before = digest(img)
    code, out, err = run_cli("--device", str(img), *args)
    assert code == 1, (out, err)
    assert digest(img) == before
    # the wait for the lock says so on info lines first; the error is the last line
    assert err.splitlines()[-1].startswith("kindling growpart: ")
    return err


def test_no_gpt(tmp_path: Path) -> None:
    img = tmp_path / "blank.img"
    img.write_bytes(bytes(4 * MiB))
    assert "no GPT: the disk holds no MBR and no GPT" in refused(img, "--partition", "1")


def test_dos_mbr(tmp_path: Path) -> None:
    img = tmp_path / "dos.img"
    img.write_bytes(b"")
    os.truncate(img, 8 * MiB)
    subprocess.run(["sfdisk", "-q", str(img)], input="label: dos\n,,L\n", text=True,
                   capture_output=True, check=True)
    assert "dos (MBR) partition table" in refused(img, "--partition", "1")


def test_protective_mbr_only(image) -> None:
    img = image("one")
    with open(img, "r+b") as fh:
        fh.seek(512)
        fh.write(bytes(33 * 512))  # primary header and array gone
        fh.seek(8 * MiB - 33 * 512)
        fh.write(bytes(33 * 512))  # backup array and header gone
    assert "protective MBR only" in refused(img, "--partition", "1")


def corrupt(img: Path, offset: int) -> None:
    with open(img, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def test_corrupt_primary_uses_backup_and_says_so(image) -> None:
    img = image("one")
    corrupt(img, 512 + 60)  # inside the primary header's disk GUID: CRC mismatch
    code, _out, err = run_cli("--device", str(img))
    assert code == 0, err
    assert "GPT primary header unusable (header CRC32 mismatch): using the backup header" in err
    assert "LBA 16383" in err  # the old backup, found where the protective MBR says
    assert sgdisk_problems(img) == []
    assert partition_span(img, 1) == (2048, LAST_USABLE_16M)


def test_corrupt_primary_array_uses_backup(image) -> None:
    img = image("one")
    corrupt(img, 1024 + 5)  # the first entry's type GUID
    code, _, err = run_cli("--device", str(img))
    assert code == 0, err
    assert "entry array CRC32 mismatch" in err
    assert sgdisk_problems(img) == []


def test_corrupt_backup_on_a_full_disk_is_repaired(image) -> None:
    img = image("one", grow_to=None)
    corrupt(img, 8 * MiB - 512 + 60)
    code, out, err = run_cli("--device", str(img))
    assert code == 0, err
    assert "GPT backup header unusable" in err
    assert out.startswith(f"REPAIRED: {img} partition=1")
    assert sgdisk_problems(img) == []
    assert run_cli("--device", str(img))[1].startswith("NOCHANGE:")


def test_both_headers_corrupt_refused(image) -> None:
    img = image("one")
    corrupt(img, 512 + 60)
    corrupt(img, 8 * MiB - 512 + 60)
    err = refused(img, "--partition", "1")
    assert "primary header unusable" in err and "backup header unusable" in err
    assert "refusing to write" in err


def test_partition_not_last_refused(image) -> None:
    err = refused(image("two"), "--partition", "1")
    assert "partition 1 is not the last on the disk (partition 2 follows it)" in err


def test_label_not_found(image) -> None:
    err = refused(image("one"), "--label", "NO-SUCH-LABEL")
    assert "no GPT partition named NO-SUCH-LABEL" in err


def test_partition_number_absent(image) -> None:
    assert "partition 7: no such partition" in refused(image("one"), "--partition", "7")


def test_busy_disk_refused(image, hold_lock) -> None:
    img = image("one")
    hold_lock(img)
    err = refused(img, "--partition", "1", "--lock-timeout", "0.3")
    assert "device busy: another process has held its lock for 0.3s" in err


def test_lock_released_within_the_wait_is_taken(image) -> None:
    """udevd holds a disk's lock for a moment while probing: that must not fail a boot."""
    img = image("one")
    fd = os.open(img, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)  # what udevd takes
    timer = threading.Timer(0.4, os.close, args=(fd,))
    timer.start()
    try:
        code, out, err = run_cli("--device", str(img), "--lock-timeout", "10")
    finally:
        timer.join()
    assert code == 0, err
    assert out.startswith("CHANGED:")


def test_usage_errors() -> None:
    assert run_cli("--partition", "1")[0] == 2
    assert run_cli("--device", "relative.img", "--partition", "1")[0] == 2
    assert run_cli("--device", "/x.img", "--partition", "0")[0] == 2
