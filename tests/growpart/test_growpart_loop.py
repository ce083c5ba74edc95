"""growpart on loop devices (RIGS.md): the kernel path (BLKPG while mounted), ext4
offline, ext4 online refused here (no CAP_SYS_RESOURCE) and reported as such, xfs
grown on its mount point, no filesystem, the cloud-utils end, and the label scan."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from growpart.disk import Disk, open_disk
from growpart.find import Target
from growpart.grow import grow
from growpart.kernel import tell_kernel
from kindling.host import Host
from tests.growpart.growpart_rig import Loops, MiB, digest, partition_span, run_cli, sgdisk_problems, sh

pytestmark = pytest.mark.rig
NEW_SECTORS = 800 * MiB // 512
NEW_END = NEW_SECTORS - 34


def kernel_sectors(part: str) -> int:
    return int(Path(f"/sys/class/block/{os.path.basename(part)}/size").read_text())


def attach_grown(loops: Loops, image, mkfs: list[str] | None) -> tuple[Path, str, str]:
    """A 400 MiB image with partition 1 (+ mkfs), attached, then enlarged to 800 MiB."""
    img = image("big", grow_to=None)
    dev = loops.attach(img)
    part = f"{dev}p1"
    if mkfs:
        sh(*mkfs, part)
        fd = os.open(part, os.O_RDONLY)  # settle mkfs's buffered writes into the image file
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.truncate(img, 800 * MiB)
    loops.refresh(dev)
    return img, dev, part


def ext4_bytes(part: str) -> int:
    out = sh("dumpe2fs", "-h", part).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return int(fields["Block count"]) * int(fields["Block size"])


def test_ext4_offline_kernel_and_filesystem(loops: Loops, image) -> None:
    _img, dev, part = attach_grown(loops, image, ["mkfs.ext4", "-q", "-F"])
    old = kernel_sectors(part)
    code, out, err = run_cli("--device", dev, "--partition", "1")
    assert code == 0, err
    assert f"new: size={NEW_END - 2048 + 1} end={NEW_END}" in out
    assert "(BLKPG)" in out
    assert "ext4 grown offline" in out
    assert kernel_sectors(part) == NEW_END - 2048 + 1 > old
    assert sgdisk_problems(dev) == []
    sh("e2fsck", "-fn", part)  # raises on any finding
    assert ext4_bytes(part) > (NEW_END - 2048 + 1) * 512 - 8 * MiB
    code, out, _ = run_cli("--device", dev, "--partition", "1")
    assert code == 0
    assert out.startswith("NOCHANGE:")
    assert "kernel already sees" in out and "already fills the partition" in out


def test_same_end_and_kernel_size_as_cloud_utils(loops: Loops, image) -> None:
    if shutil.which("growpart") is None:
        pytest.skip("cloud-utils growpart not installed")
    _, ours, ours_p = attach_grown(loops, image, None)
    _, theirs, theirs_p = attach_grown(loops, image, None)
    assert run_cli("--device", ours, "--partition", "1", "--no-fs")[0] == 0
    sh("growpart", theirs, "1")
    assert partition_span(ours, 1) == partition_span(theirs, 1) == (2048, NEW_END)
    assert kernel_sectors(ours_p) == kernel_sectors(theirs_p)


def test_ext4_mounted_online_resize_is_reported(loops: Loops, image) -> None:
    _, dev, part = attach_grown(loops, image, ["mkfs.ext4", "-q", "-F"])
    loops.mount(part, "ext4")
    code, out, err = run_cli("--device", dev, "--partition", "1")
    # BLKPG works while the partition is mounted: the kernel sees the new size either way
    assert kernel_sectors(part) == NEW_END - 2048 + 1
    assert partition_span(dev, 1) == (2048, NEW_END)
    if code == 0:  # a kernel that grants the online resize (CAP_SYS_RESOURCE)
        assert "ext4 grown online" in out
    else:
        assert code == 1
        assert "the kernel refused the online resize" in err
        assert "CAP_SYS_RESOURCE" in err and "the partition is grown" in err


def test_xfs_mounted_grows_on_its_mount_point(loops: Loops, image) -> None:
    _, dev, part = attach_grown(loops, image, ["mkfs.xfs", "-q", "-f"])
    where = loops.mount(part, "xfs")
    before = os.statvfs(where)
    code, out, err = run_cli("--device", dev, "--partition", "1")
    assert code == 0, err
    assert f"xfs at {where}: data blocks changed from" in out
    after = os.statvfs(where)
    assert after.f_blocks * after.f_frsize > 1.8 * before.f_blocks * before.f_frsize
    sh("umount", where)
    loops.mounts.remove(where)
    # blkid read the superblock through the page cache while xfs (which writes around
    # it) was mounted; anyone else holding the device at umount keeps that page alive
    sh("blockdev", "--flushbufs", part)
    check = sh("xfs_repair", "-n", part, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_xfs_unmounted_is_a_clear_note(loops: Loops, image) -> None:
    _, dev, _ = attach_grown(loops, image, ["mkfs.xfs", "-q", "-f"])
    code, out, err = run_cli("--device", dev, "--partition", "1")
    assert code == 0, err
    assert "xfs grows only when mounted" in out


def test_no_filesystem_partition_still_grown(loops: Loops, image) -> None:
    _, dev, part = attach_grown(loops, image, None)
    code, out, err = run_cli("--device", dev)
    assert code == 0, err
    assert "no filesystem found on" in out
    assert kernel_sectors(part) == NEW_END - 2048 + 1


def test_found_by_label_scanning_every_disk(loops: Loops, image) -> None:
    label = f"KD-{os.getpid()}-{os.urandom(3).hex()}"
    img = image("big", grow_to=None)
    sh("sgdisk", "-c", f"1:{label}", str(img))
    dev = loops.attach(img)
    os.truncate(img, 800 * MiB)
    loops.refresh(dev)
    code, out, err = run_cli("--label", label, "--no-fs")
    assert code == 0, err
    assert out.startswith(f"CHANGED: {dev} partition=1")
    code, _, err = run_cli("--label", label + "-nope")
    assert code == 1 and "no GPT partition named" in err


def test_busy_loop_device_refused(loops: Loops, image, hold_lock) -> None:
    _, dev, _ = attach_grown(loops, image, None)
    hold_lock(dev)
    code, _, err = run_cli("--device", dev, "--partition", "1", "--lock-timeout", "0.2")
    assert code == 1 and "device busy" in err
    assert sgdisk_problems(dev) != []  # still the enlarged, untouched table


def test_4k_sector_disk_then_its_image_file(loops: Loops, tmp_path: Path) -> None:
    img = tmp_path / "4k.img"
    img.touch()
    os.truncate(img, 64 * MiB)
    dev = loops.attach(img, "--sector-size", "4096")
    sh("sgdisk", "-n", "1:256:0", "-c", "1:KINDLING-DATA", dev)
    if not Path(f"{dev}p1").exists():
        sh("partx", "-a", dev)
    os.truncate(img, 128 * MiB)
    loops.refresh(dev)
    code, out, err = run_cli("--device", dev, "--json")
    assert code == 0, err
    report = json.loads(out)
    last_usable = 128 * MiB // 4096 - 6  # 4 array sectors + header + the last LBA
    assert (report["sector_size"], report["new_end"]) == (4096, last_usable)
    assert kernel_sectors(f"{dev}p1") == (last_usable - 256 + 1) * 8
    assert sgdisk_problems(dev) == []
    loops.detach(dev)
    os.truncate(img, 256 * MiB)  # the image file alone: sector size found by probing
    code, out, err = run_cli("--device", str(img), "--json")
    assert code == 0, err
    assert json.loads(out)["new_end"] == 256 * MiB // 4096 - 6


class RefusingDisk(Disk):
    """A disk whose kernel refuses BLKPG (old kernels, some drivers): the fallback runs."""

    def resize_partition(self, number: int, start: int, length: int) -> None:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))


def test_partx_update_is_the_fallback_when_blkpg_is_refused(loops: Loops, image) -> None:
    _, dev, part = attach_grown(loops, image, None)
    host = Host("/")
    report = grow(host, Target(dev, 1, None, "device"), resize_fs=False)  # table + BLKPG
    assert "(BLKPG)" in report.kernel
    with open_disk(host, dev) as real:  # make the kernel's view stale again
        real.resize_partition(1, 2048 * 512, 1000 * 512)
    assert kernel_sectors(part) == 1000
    with open_disk(host, dev) as opened:
        refusing = RefusingDisk(host, dev, opened.fd, is_block=True, size=opened.size,
                                sector_size=opened.sector_size)
        said = tell_kernel(host, refusing, 1, 2048, NEW_END - 2048 + 1)
        refusing.fd = -1  # `opened` owns the descriptor
    assert said.endswith("(partx --update (BLKPG refused: Invalid argument))")
    assert kernel_sectors(part) == NEW_END - 2048 + 1


def test_plan_on_a_loop_device_touches_neither_disk_nor_kernel(loops: Loops, image) -> None:
    img, dev, part = attach_grown(loops, image, ["mkfs.ext4", "-q", "-F"])
    before, old = digest(img), kernel_sectors(part)
    code, out, err = run_cli("--device", dev, "--plan")
    assert code == 0, err
    assert f"ioctl BLKPG_RESIZE_PARTITION {dev} partition 1" in out
    assert f"run e2fsck -f -p {part}" in out and f"run resize2fs {part}" in out
    assert digest(img) == before and kernel_sectors(part) == old
