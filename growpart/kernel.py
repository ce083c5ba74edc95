"""Tell the kernel the partition's new size (issue 5, item 3).

BLKPG_RESIZE_PARTITION on the whole disk changes one partition in place and works
while it is mounted; the whole-table re-read (BLKRRPART) fails as soon as any
partition of the disk is in use — why Bottlerocket dropped its growpart. When the
ioctl is refused, `partx --update --nr N DISK` (util-linux, the same request made
by another tool) is the fallback, run through `host.run` so a plan records it.

The kernel's view is read from sysfs (`/sys/class/block/<disk>/<part>/{partition,
start,size}`, always in 512-byte units), through the Host so tests can plant it.
A partition the kernel does not know (a kernel without partition scanning, before
`partx -a`) cannot be resized: that is reported, not papered over.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from growpart.disk import Disk
from kindling.errors import CommandError, HostError
from kindling.host import Host

__all__ = ["KernelPartition", "kernel_partition", "tell_kernel"]


class KernelPartition(NamedTuple):
    """The kernel's partition device: its node, start and size in 512-byte sectors."""

    name: str
    node: str
    start: int
    sectors: int


def kernel_partition(host: Host, disk_path: str, number: int) -> KernelPartition | None:
    """The kernel's partition `number` of block device `disk_path`, or None."""
    disk_name = os.path.basename(os.path.realpath(disk_path))
    base = f"/sys/class/block/{disk_name}"
    for child in host.listdir(base):
        if not child.startswith(disk_name):  # partitions are named after their disk
            continue
        num = host.read_optional(f"{base}/{child}/partition")
        if num is None or num.strip() != str(number):
            continue
        start = host.read_optional(f"{base}/{child}/start")
        size = host.read_optional(f"{base}/{child}/size")
        if start is None or size is None:
            continue
        return KernelPartition(child, f"/dev/{child}",
                               int(start), int(size))
    return None


def tell_kernel(host: Host, disk: Disk, number: int, start: int, sectors: int) -> str:
    """Make the kernel's partition `number` match the table (`start`/`sectors` in the
    disk's logical sectors); returns what was done, in words."""
    ss = disk.sector_size
    known = kernel_partition(host, disk.path, number)
    if known is None:
        return (f"the kernel has no partition {number} on {disk.path} (no partition "
                "scanning?): not told; run 'partx -a' to add it")
    want = sectors * ss // 512
    if known.start * 512 != start * ss:
        raise HostError(f"{disk.path}: partition {number}: the kernel has it at sector "
                        f"{known.start}, the GPT at {start * ss // 512}: refusing to resize "
                        "a partition the kernel sees elsewhere")
    if known.sectors == want:
        return f"kernel already sees {known.name} at {want} sectors"
    try:
        disk.resize_partition(number, start * ss, sectors * ss)
        how = "BLKPG"
    except OSError as exc:
        reason = exc.strerror or str(exc)
        try:
            host.run(["partx", "--update", "--nr", str(number), disk.path])
        except CommandError as exc2:
            raise HostError(f"{disk.path}: partition {number}: BLKPG resize refused "
                            f"({reason}) and partx --update failed: {exc2}") from exc2
        how = f"partx --update (BLKPG refused: {reason})"
    return f"kernel told {known.name} is {want} sectors ({how})"
