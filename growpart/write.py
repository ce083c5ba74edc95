"""Write a grown GPT in an order that survives a crash after any step (issue 5, item 2).

The order, each step followed by fsync so the device cannot reorder across it:

1. `backup-array`  — the entry array at its new place before the new end of the disk.
   That area lies beyond the old last LBA: no header points there, nothing uses it.
2. `backup-header` — the backup header at the new last LBA. Still nothing points to
   it: the primary header's alternate LBA names the old backup, which is intact, so
   every reader (sgdisk, the kernel, us) sees the old table, whole.
3. `primary`       — the primary header and its array in one write (LBA 1 to 33 for
   the usual layout). This is the commit: from here the primary describes the new
   table and points at the new backup, written and synced in steps 1-2.
   If power fails mid-write and the header and array come out torn, the primary
   fails its CRCs and readers fall back to the backup at the end of the disk —
   the new one, complete since step 2 — so the new table still stands (`read_gpt`
   finds it and a re-run rewrites the primary; sgdisk recovers it the same way).
4. `mbr`           — the protective MBR's size field (only a pure protective MBR),
   cosmetic for GPT readers; written last so it never runs ahead of the table.

The old backup header is left where it was: it now sits inside the grown partition,
which the filesystem takes over when it grows; it is never read again because the
primary points elsewhere. A crash after step 1 or 2 leaves the old table; a re-run
sees the old primary verify, computes the same new table and writes it again —
every step is idempotent. `after_step` is called after each step's fsync (fault
injection in tests; progress logging).
"""

from __future__ import annotations

from collections.abc import Callable

from growpart.disk import Disk
from growpart.gpt import GrownTable

__all__ = ["STEPS", "write_table"]

STEPS = ("backup-array", "backup-header", "primary", "mbr")


def write_table(disk: Disk, grown: GrownTable,
                after_step: Callable[[str], None] | None = None) -> list[str]:
    """Write `grown` to `disk` in the crash-safe order; returns the steps done."""
    ss = grown.sector_size
    done: list[str] = []

    def step(name: str, writes: list[tuple[int, bytes]]) -> None:
        for lba, data in writes:
            disk.write(lba * ss, data, name)
        disk.sync()
        done.append(name)
        if after_step is not None:
            after_step(name)

    step("backup-array", [(grown.backup_array_lba, grown.backup_array)])
    step("backup-header", [(grown.backup_lba, grown.backup)])
    if grown.primary_array_lba == grown.primary_lba + 1:
        step("primary", [(grown.primary_lba, grown.primary)])
    else:  # an unusual layout (sgdisk -j): array first, then the header that commits it
        step("primary", [(grown.primary_array_lba, grown.primary_array),
                         (grown.primary_lba, grown.primary)])
    if grown.mbr is not None:
        step("mbr", [(0, grown.mbr)])
    return done
