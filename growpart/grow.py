"""One growpart run: table, kernel, filesystem — in that order (issue 5).

The disk stays locked from the first read to the kernel update, so nothing else
re-partitions it between our verification and our write. Each layer is idempotent
on its own: the table is left alone when the partition already ends on the last
usable LBA (gains under 1 MiB ignored), the kernel is told only when its size
differs from the table's, the filesystem is grown only when it is smaller than the
partition. So a run after a crash at any point finishes the job, and a second run
changes nothing and says so (DESIGN §7).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from growpart.disk import open_disk
from growpart.errors import PartitionNotFoundError
from growpart.find import Target
from growpart.fs import FsResult, FsTarget, grow_fs
from growpart.gpt import MIN_GAIN, grow_table, read_gpt
from growpart.kernel import kernel_partition, tell_kernel
from growpart.write import write_table
from kindling import log
from kindling.errors import HostError
from kindling.host import Host
from kindling.record import field, record

__all__ = ["GrowReport", "grow"]


@record
class GrowReport:
    """What happened, in the terms cloud-utils growpart prints (sectors, inclusive ends)."""

    disk: str
    number: int
    label: str | None
    start: int
    old_end: int
    new_end: int
    sector_size: int
    table: str  # "changed" | "repaired" | "unchanged"
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kernel: str = ""
    fs: FsResult | None = None

    @property
    def changed(self) -> bool:
        return self.table != "unchanged"

    def summary(self) -> str:
        old = self.old_end - self.start + 1
        new = self.new_end - self.start + 1
        if self.table == "changed":
            return (f"CHANGED: {self.disk} partition={self.number} start={self.start} old: "
                    f"size={old} end={self.old_end} new: size={new} end={self.new_end}")
        if self.table == "repaired":
            return (f"REPAIRED: {self.disk} partition={self.number} both GPT copies rewritten, "
                    f"the backup at the end of the disk; partition unchanged (gains under 1 MiB "
                    f"are ignored): "
                    f"size={new} end={self.new_end}")
        return (f"NOCHANGE: {self.disk} partition={self.number} size={new} end={self.new_end}:"
                " already fills the disk (gains under 1 MiB are ignored)")

    def to_json(self) -> dict[str, Any]:
        return {
            "disk": self.disk, "partition": self.number, "label": self.label,
            "sector_size": self.sector_size, "start": self.start, "old_end": self.old_end,
            "new_end": self.new_end, "table": self.table, "steps": self.steps,
            "notes": self.notes, "kernel": self.kernel,
            "filesystem": None if self.fs is None else {
                "status": self.fs.status, "type": self.fs.fstype, "detail": self.fs.detail},
        }


def grow(host: Host, target: Target, *, resize_fs: bool = True, min_gain: int = MIN_GAIN,
         after_step: Callable[[str], None] | None = None, lock_wait: float = 5.0
         ) -> GrowReport:
    """Grow `target`'s partition to the end of its disk, tell the kernel, grow its fs."""
    logger = log.get("growpart")
    source = target.disk
    with open_disk(host, target.disk, lock_wait=lock_wait) as disk:
        gpt = read_gpt(disk.read, disk.size, disk.sector_size, source=source)
        part = gpt.partition(target.number)
        if target.label is not None and part.name != target.label:
            raise PartitionNotFoundError(f"{source}: partition {target.number} is no longer "
                                         f"named {target.label}: nothing was changed")
        for note in gpt.notes:
            logger.warning(note, disk=source)
        grown = grow_table(gpt, target.number, source=source, min_gain=min_gain)
        report = GrowReport(source, target.number, part.name or target.label,
                            part.first_lba, part.last_lba, part.last_lba, gpt.sector_size,
                            "unchanged", notes=list(gpt.notes))
        if grown is not None:
            try:
                report.steps = write_table(disk, grown, after_step)
            except HostError as exc:
                raise HostError(f"{exc}; the disk holds the old table or the new one (the "
                                "write order is crash-safe): run again") from exc
            report.new_end = grown.new_end
            report.table = "changed" if grown.new_end != grown.old_end else "repaired"
        sectors = report.new_end - report.start + 1
        if disk.is_block:
            try:
                report.kernel = tell_kernel(host, disk, target.number, report.start, sectors)
            except HostError as exc:
                done = "the partition table is grown" if report.changed else "table unchanged"
                raise HostError(f"{exc} ({done}; the kernel was not told)") from exc
        else:
            report.kernel = "image file: no kernel partition to tell"
    if resize_fs:
        report.fs = _grow_filesystem(host, target, report, disk.is_block)
    return report


def _grow_filesystem(host: Host, target: Target, report: GrowReport,
                     is_block: bool) -> FsResult:
    ss = report.sector_size
    size = (report.new_end - report.start + 1) * ss
    if not is_block:
        return grow_fs(host, FsTarget(target.disk, size, report.start * ss))
    known = kernel_partition(host, target.disk, target.number)
    if known is None:
        return FsResult("skipped", None, f"no partition device for partition {target.number} "
                        f"of {target.disk}: filesystem not grown")
    return grow_fs(host, FsTarget(known.node, size))
