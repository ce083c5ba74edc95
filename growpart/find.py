"""Find the data partition (issue 5, item 1; DESIGN §3 "data partition").

By GPT partition name — `KINDLING-DATA`, else `BOTTLEROCKET-DATA`, or the `--label`
given — or simply `--device DISK --partition N`.

udev first: when udevd has run, its database holds `ID_PART_ENTRY_NAME` for every
partition and pyudev reads it without touching a disk. Early in boot, in containers
and on these machines no udevd runs (and a kernel without partition scanning has no
partition devices for udev to describe), so when udev has no data, or knows no
partition by that name, we read the GPTs ourselves: every whole disk listed in
/sys/class/block (through the Host, so a test root can plant disks as image files
under dev/), opened read-only and verified by `gpt.read_gpt`. udev is only asked
when the root is `/` and its database exists (`candidates.udev_has_data`). Either way the
partition is checked again in the table we then write (`grow.py`), so stale udev
data cannot make us grow the wrong partition.
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from growpart.candidates import DEFAULT_LABELS, SCANNED_DISKS, candidate_disks, not_found, udev_has_data
from growpart.disk import open_disk
from growpart.errors import AmbiguousLabelError, PartitionNotFoundError
from growpart.gpt import SIGNATURE, probe_sector_size, read_gpt
from kindling import log
from kindling.errors import KindlingError
from kindling.host import Host

__all__ = ["DEFAULT_LABELS", "Target", "find_by_label", "find_on_disk", "find_with_udev"]



class Target(NamedTuple):
    """A partition to grow: disk (absolute path), 1-based number, and how we found it."""

    disk: str
    number: int
    label: str | None
    via: str  # "device" | "udev" | "gpt-scan"


def _labels_text(labels: tuple[str, ...]) -> str:
    return " or ".join(labels)


def find_with_udev(labels: tuple[str, ...]) -> list[Target] | None:
    """Partitions udev knows by these names; None when udev has no partition data."""
    try:
        import pyudev
    except ImportError:
        return None
    try:
        context = pyudev.Context()
        devices = list(context.list_devices(subsystem="block", DEVTYPE="partition"))
    except (OSError, ImportError):  # no libudev, no /sys: fall back to reading GPTs
        return None
    seen_any = False
    found: list[Target] = []
    for dev in devices:
        name = dev.properties.get("ID_PART_ENTRY_NAME")
        if name is None:
            continue
        seen_any = True
        if name not in labels:
            continue
        parent = dev.find_parent("block", "disk")
        number = dev.properties.get("ID_PART_ENTRY_NUMBER") or dev.attributes.get("partition")
        if parent is None or parent.device_node is None or number is None:
            continue
        num = number.decode() if isinstance(number, bytes) else str(number)
        found.append(Target(parent.device_node, int(num), name, "udev"))
    return found if seen_any else None


def _disk_size(host: Host, name: str, node: str) -> int:
    """Bytes: sysfs `size` (512-byte units) for devices, the file size for planted images."""
    try:
        st = os.stat(node)
    except OSError:
        return 0
    if stat.S_ISREG(st.st_mode):
        return st.st_size
    sectors = (host.read_optional(f"/sys/class/block/{name}/size") or "0").strip()
    return int(sectors) * 512 if sectors.isdigit() else 0


def _scan_disk(host: Host, name: str, labels: tuple[str, ...]) -> list[Target]:
    node = str(host.dev(name))
    size = _disk_size(host, name, node)
    if size < 68 * 512:  # empty loop / nbd slots are never opened
        return []
    try:
        fd = os.open(node, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        def read(offset: int, length: int) -> bytes:
            return os.pread(fd, length, offset)

        if SIGNATURE not in (read(512, 8), read(4096, 8)):
            return []
        try:
            gpt = read_gpt(read, size, probe_sector_size(read), source=node)
        except KindlingError as exc:
            log.get("growpart").debug("skipping disk", disk=node, reason=str(exc))
            return []
    except OSError:
        return []
    finally:
        os.close(fd)
    return [Target(node, p.number, p.name, "gpt-scan") for p in gpt.partitions
            if p.name in labels]


def find_on_disk(host: Host, disk: str, labels: tuple[str, ...], *,
                 lock_wait: float = 5.0) -> Target:
    """The partition named by one of `labels` (first label wins) on one disk."""
    with open_disk(host, disk, lock_wait=lock_wait) as d:
        gpt = read_gpt(d.read, d.size, d.sector_size, source=disk)
    for label in labels:
        parts = gpt.by_name(label)
        if len(parts) > 1:
            raise AmbiguousLabelError(f"{disk}: {len(parts)} partitions are named {label}: "
                                      "refusing to guess (use --partition)")
        if parts:
            return Target(disk, parts[0].number, label, "device")
    raise PartitionNotFoundError(f"{disk}: no GPT partition named {_labels_text(labels)}")


def find_by_label(host: Host, labels: tuple[str, ...] = DEFAULT_LABELS) -> Target:
    """Search every disk for the first label that exists; refuses when it is on two."""
    found = find_with_udev(labels) if udev_has_data(host) else None
    scanned = "udev"
    if not found:  # no udev data, or udev knows no such partition (not scanned by the kernel)
        scanned = SCANNED_DISKS
        found = []
        for name in candidate_disks(host):
            found.extend(_scan_disk(host, name, labels))
    for label in labels:
        hits = [t for t in found if t.label == label]
        if len(hits) > 1:
            where = ", ".join(f"{t.disk} partition {t.number}" for t in hits)
            raise AmbiguousLabelError(f"GPT partition name {label} is on {len(hits)} "
                                      f"partitions ({where}): refusing to guess (use --device)")
        if hits:
            return hits[0]
    raise PartitionNotFoundError(not_found(labels, scanned))
