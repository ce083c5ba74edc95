"""The disk being grown: a block device or an image file, opened once and locked.

A real device is an absolute path (`--device /dev/loop3`): the documented exception
of the Host seam (DESIGN §2). The Host still decides what happens: `open_disk` gives
a `RecordingDisk` under `--plan`, which reads for real and records every write, sync
and ioctl in `host.actions` instead of doing it — logic never asks whether it plans.

The whole disk is locked with `flock(LOCK_EX | LOCK_NB)` while we work on it: the
convention systemd-udevd and the partitioners follow ("Locking Block Device Access",
systemd.io/BLOCK_DEVICE_LOCKING), so udev does not probe a half-written table and a
disk someone else holds is refused as busy instead of waited for.
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
import stat
import struct

from growpart.errors import DeviceBusyError
from growpart.gpt import probe_sector_size
from kindling.errors import HostError
from kindling.host import Host

__all__ = ["Disk", "RecordingDisk", "open_disk"]

_BLKSSZGET = 0x1268
_BLKGETSIZE64 = 0x80081272
_BLKPG = 0x1269
_BLKPG_RESIZE_PARTITION = 3


# struct blkpg_partition { long long start, length; int pno; char devname[64], volname[64]; }
_BLKPG_PARTITION = struct.Struct("@qqi64s64s4x")  # 152 bytes, padded as C pads it
# struct blkpg_ioctl_arg { int op; int flags; int datalen; void *data; }
_BLKPG_IOCTL_ARG = struct.Struct("@iiiP")


class Disk:
    """An open, locked disk: positional reads and writes, fsync, the BLKPG ioctl."""

    def __init__(self, host: Host, path: str, fd: int, *, is_block: bool,
                 size: int, sector_size: int) -> None:
        self.host = host
        self.path = path
        self.fd = fd
        self.is_block = is_block
        self.size = size
        self.sector_size = sector_size

    def read(self, offset: int, length: int) -> bytes:
        chunks: list[bytes] = []
        while length > 0:
            try:
                chunk = os.pread(self.fd, length, offset)
            except OSError as exc:
                raise HostError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            length -= len(chunk)
        return b"".join(chunks)

    def write(self, offset: int, data: bytes, what: str) -> None:
        view = memoryview(data)
        try:
            while view:
                done = os.pwrite(self.fd, view, offset)
                view = view[done:]
                offset += done
        except OSError as exc:
            raise HostError(f"{self.path}: cannot write {what}: {exc.strerror or exc}") from exc

    def sync(self) -> None:
        try:
            os.fsync(self.fd)
        except OSError as exc:
            raise HostError(f"{self.path}: fsync failed: {exc.strerror or exc}") from exc

    def resize_partition(self, number: int, start: int, length: int) -> None:
        """BLKPG_RESIZE_PARTITION: tell the kernel one partition's new length (bytes).

        Unlike BLKRRPART (the whole-table re-read), this works while the partition
        is mounted — the reason Bottlerocket left its old growpart (DESIGN §3 note).
        """
        # the kernel reads the partition through a pointer: keep it in an array whose
        # address is stable while the ioctl runs (no ctypes import on the boot path)
        part = array.array("B", _BLKPG_PARTITION.pack(start, length, number, b"", b""))
        address, _ = part.buffer_info()
        arg = _BLKPG_IOCTL_ARG.pack(_BLKPG_RESIZE_PARTITION, 0, len(part), address)
        fcntl.ioctl(self.fd, _BLKPG, arg)  # OSError propagates: the caller falls back

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1

    def __enter__(self) -> Disk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingDisk(Disk):
    """`--plan`: reads for real; writes, syncs and ioctls are recorded, not done."""

    def write(self, offset: int, data: bytes, what: str) -> None:
        ss = self.sector_size
        self.host.actions.append(
            f"write {self.path} {what}: LBA {offset // ss}-{(offset + len(data)) // ss - 1}"
            f" ({len(data)} bytes)")

    def sync(self) -> None:
        self.host.actions.append(f"fsync {self.path}")

    def resize_partition(self, number: int, start: int, length: int) -> None:
        self.host.actions.append(
            f"ioctl BLKPG_RESIZE_PARTITION {self.path} partition {number} "
            f"start={start} length={length}")


def _lock(host: Host, fd: int, path: str, kind: int, wait: float) -> None:
    """flock the disk, retrying for `wait` seconds on the Host clock: udevd holds a
    shared lock for a moment while it probes a disk, which is no reason to fail a
    boot; a lock held longer than that is someone else's work, and we refuse."""
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)  # the usual case: free, no retry loop needed
        return
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise HostError(f"{path}: cannot lock: {exc.strerror or exc}") from exc
    # busy: the one retry loop (its import pulls in `random`: only paid when needed)
    from kindling.retry import (
        Retryable,
        RetryBudgetExceeded,
        RetryPolicy,
        retry,
    )

    def attempt() -> None:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise Retryable("locked by another process") from exc
            raise HostError(f"{path}: cannot lock: {exc.strerror or exc}") from exc

    policy = RetryPolicy(first=0.05, cap=0.5, budget=max(wait, 0.0), jitter=0.0)
    try:
        retry(attempt, clock=host.clock, what=f"{path}: lock", policy=policy)
    except RetryBudgetExceeded as exc:
        raise DeviceBusyError(f"{path}: device busy: another process has held its lock for "
                              f"{wait:g}s (udev or a partitioner); nothing was changed"
                              ) from exc


def open_disk(host: Host, path: str, *, lock_wait: float = 5.0) -> Disk:
    """Open and lock `path` (absolute, real); busy → DeviceBusyError, nothing read."""
    recording = host.recording
    flags = (os.O_RDONLY if recording else os.O_RDWR) | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise HostError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    try:
        _lock(host, fd, path, fcntl.LOCK_SH if recording else fcntl.LOCK_EX, lock_wait)
        mode = os.fstat(fd).st_mode
        if stat.S_ISBLK(mode):
            size = struct.unpack("Q", fcntl.ioctl(fd, _BLKGETSIZE64, bytes(8)))[0]
            ssz = struct.unpack("i", fcntl.ioctl(fd, _BLKSSZGET, bytes(4)))[0]
            is_block = True
        elif stat.S_ISREG(mode):
            size, ssz, is_block = os.fstat(fd).st_size, 0, False
        else:
            raise HostError(f"{path}: not a block device nor a regular image file")
    except BaseException:
        os.close(fd)
        raise
    cls = RecordingDisk if recording else Disk
    disk = cls(host, path, fd, is_block=is_block, size=size, sector_size=ssz or 512)
    if not ssz:
        disk.sector_size = probe_sector_size(disk.read)
    return disk
