"""Grow the filesystem on the grown partition (issue 5, item 4).

- ext4 unmounted: `e2fsck -f -p` then `resize2fs` (offline). This is the boot path:
  the unit runs before local-fs.target, so nothing is mounted yet.
- ext4 mounted: `resize2fs` online (EXT4_IOC_RESIZE_FS). Kernels refuse it to a
  process without CAP_SYS_RESOURCE (containers, this sandbox): that is reported as
  what it is, with the two ways out, and the partition stays grown.
- xfs: `xfs_growfs -d MOUNTPOINT` (xfs only grows mounted). Not mounted → a clear note.
- anything else, or nothing → a clear note; the partition is grown regardless.

Image files: the table grows in place (for image builders), the filesystem does not:
resize2fs accepts `IMAGE?offset=BYTES`, but on a regular file it then truncates the
file to the filesystem's size, ignoring the offset (resize/main.c, e2fsprogs 1.47) —
which would cut off the backup GPT we just wrote. So a filesystem in an image file is
reported with the command to run once the image is attached. Detection is
`blkid -p` run read-only (it runs under `--plan` too); the mutating tools go through
`host.run`, so a plan lists them instead of running them.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from growpart.errors import FilesystemError
from kindling.host import Host

__all__ = ["FsResult", "FsTarget", "detect_fs", "find_mount", "grow_fs"]


class FsTarget(NamedTuple):
    """Where the filesystem lives: a partition node, or an image file plus offset."""

    device: str  # /dev/loop3p1, or the image file
    size_bytes: int  # the partition's (new) size
    offset: int | None = None  # byte offset of the partition inside an image file

    @property
    def what(self) -> str:
        """How messages name it: the node, or the image and the partition's offset."""
        if self.offset is None:
            return self.device
        return f"{self.device} (partition at byte {self.offset})"


class FsResult(NamedTuple):
    status: str  # "grown" | "unchanged" | "skipped"
    fstype: str | None
    detail: str


def detect_fs(host: Host, target: FsTarget) -> str | None:
    """The filesystem type blkid finds at the partition (low-level probe), or None."""
    argv = ["blkid", "-p", "-o", "export"]
    if target.offset is not None:
        argv += ["-O", str(target.offset)]
    result = host.run([*argv, target.device], read_only=True, check=False)
    if result.returncode not in (0, 2):
        raise FilesystemError(f"{target.device}: blkid failed (exit {result.returncode})")
    for line in result.text.splitlines():
        key, _, value = line.partition("=")
        if key == "TYPE":
            return value
    return None


def find_mount(host: Host, device: str) -> str | None:
    """Where the block device `device` is mounted, from the kernel's mountinfo.

    A real block device is a real kernel object (the documented exception of DESIGN
    §2), so its mounts are read from the real /proc even under --root: a prefixed
    /proc would say "not mounted" and send e2fsck at a mounted filesystem.
    """
    try:
        rdev = os.stat(device).st_rdev
    except OSError:
        return None
    want = f"{os.major(rdev)}:{os.minor(rdev)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        text = host.read_optional("/proc/self/mountinfo") or ""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[2] == want:
            return _unescape(fields[4])
    return None


def _unescape(path: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040)."""
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and path[i + 1:i + 4].isdigit():
            out.append(chr(int(path[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def _ext4_geometry(host: Host, target: FsTarget) -> tuple[int, int, int]:
    """(block count, block size, inode blocks per group) from `dumpe2fs -h`."""
    result = host.run(["dumpe2fs", "-h", target.device], read_only=True, check=False)
    found: dict[str, int] = {}
    for line in result.text.splitlines():
        key, _, value = line.partition(":")
        if key in ("Block count", "Block size", "Inode blocks per group"):
            found[key] = int(value.strip() or 0)
    if result.returncode != 0 or "Block count" not in found or "Block size" not in found:
        raise FilesystemError(f"{target.device}: ext4 superblock unreadable (dumpe2fs exit "
                              f"{result.returncode}): filesystem not grown, partition grown")
    return found["Block count"], found["Block size"], found.get("Inode blocks per group", 0)


def _grow_ext4(host: Host, target: FsTarget, mount: str | None) -> FsResult:
    if target.offset is not None:
        return FsResult("skipped", "ext4", "ext4 in an image file is not grown in place "
                        "(resize2fs would truncate the image and cut off the backup GPT): "
                        "attach the image (losetup --partscan) and run resize2fs on the "
                        "partition")
    blocks, bsize, itable = _ext4_geometry(host, target)
    room = target.size_bytes // bsize - blocks
    # resize2fs drops a last group too small for its own inode table plus 50 blocks,
    # so a smaller gain would only re-run e2fsck every boot for nothing.
    if room * bsize < 1024 * 1024 or room <= itable + 50:
        return FsResult("unchanged", "ext4", f"ext4 already fills the partition ({blocks} "
                        f"blocks of {bsize})")
    if mount is not None:
        result = host.run(["resize2fs", target.device], check=False, timeout=None)
        if result.returncode != 0:
            err = result.stderr.decode("utf-8", "replace")
            if "Permission denied" in err or "Operation not permitted" in err:
                raise FilesystemError(
                    f"{target.device}: ext4 is mounted at {mount} and the kernel refused the "
                    "online resize (EXT4_IOC_RESIZE_FS needs CAP_SYS_RESOURCE, which this "
                    "process lacks): the partition is grown, the filesystem is not. Run "
                    "again with CAP_SYS_RESOURCE, or unmounted (offline resize)")
            raise FilesystemError(f"{target.device}: online resize2fs failed (exit "
                                  f"{result.returncode}): the partition is grown, the "
                                  "filesystem is not")
        how = f"online at {mount}"
    else:
        check = host.run(["e2fsck", "-f", "-p", target.device], check=False, timeout=None)
        if check.returncode not in (0, 1):
            raise FilesystemError(f"{target.device}: e2fsck -f -p exit {check.returncode} "
                                  "(errors left uncorrected): the partition is grown, the "
                                  "filesystem is not")
        result = host.run(["resize2fs", target.device], check=False, timeout=None)
        if result.returncode != 0:
            raise FilesystemError(f"{target.device}: resize2fs failed (exit "
                                  f"{result.returncode}): the partition is grown, the "
                                  "filesystem is not")
        how = "offline"
    return FsResult("grown", "ext4", f"ext4 grown {how} from {blocks} to about "
                    f"{target.size_bytes // bsize} blocks of {bsize}")


def _grow_xfs(host: Host, target: FsTarget, mount: str | None) -> FsResult:
    if target.offset is not None:
        return FsResult("skipped", "xfs", "xfs in an image file: xfs grows only when mounted; "
                        "run xfs_growfs after mounting it")
    if mount is None:
        return FsResult("skipped", "xfs", f"xfs on {target.device} is not mounted and xfs "
                        "grows only when mounted: run kindling growpart again after "
                        "mounting it (or mount it with x-systemd.growfs)")
    result = host.run(["xfs_growfs", "-d", mount], check=False, timeout=None)
    if result.returncode != 0:
        raise FilesystemError(f"{target.device}: xfs_growfs on {mount} failed (exit "
                              f"{result.returncode}): the partition is grown, the "
                              "filesystem is not")
    for line in result.text.splitlines():
        if "data blocks changed from" in line:
            return FsResult("grown", "xfs", f"xfs at {mount}: {line.strip()}")
    if host.recording:
        return FsResult("grown", "xfs", f"xfs at {mount}: would run xfs_growfs")
    return FsResult("unchanged", "xfs", f"xfs at {mount} already fills the partition")


def grow_fs(host: Host, target: FsTarget) -> FsResult:
    """Grow whatever filesystem `target` holds, or say clearly why not."""
    fstype = detect_fs(host, target)
    mount = find_mount(host, target.device) if target.offset is None else None
    if fstype in ("ext4", "ext3", "ext2"):
        return _grow_ext4(host, target, mount)
    if fstype == "xfs":
        return _grow_xfs(host, target, mount)
    if fstype is None:
        return FsResult("skipped", None, f"no filesystem found on {target.what}: "
                        "the partition is grown, nothing else to do")
    return FsResult("skipped", fstype, f"filesystem type {fstype} is not grown by kindling "
                    "growpart (ext4 and xfs are): the partition is grown; grow it with its "
                    "own tool")
