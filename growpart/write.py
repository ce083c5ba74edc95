"""Write a grown GPT in an order that survives a crash after any step (issue 5, item 2).

Two steps, each ended by fsync so the device cannot reorder across it:

1. `backup`  — the entry array at its new place before the new end of the disk, then
   the backup header on the new last LBA. That area lies beyond the old last LBA:
   no header points there and nothing uses it, so however much of this step reaches
   the disk, every reader (sgdisk, the kernel, us) still sees the old table, whole —
   the primary's alternate LBA names the old backup, which is intact.
2. `primary` — the primary header and its array in one write (LBA 1 to 33 for the
   usual layout), and the protective MBR's size field (a pure protective MBR only).
   This is the commit: from here the primary describes the new table and points at
   the new backup, complete and synced since step 1. If power fails mid-write and
   the header and array come out torn, the primary fails its CRCs and readers fall
   back to the backup at the end of the disk — the new one — so the new table still
   stands (`read_gpt` finds it, a re-run rewrites the primary, sgdisk recovers it the
   same way). The MBR's size only ever says how big the disk is, which is true before
   and after the commit, so it may land in either order with it.

The old backup header is left where it was: it now sits inside the grown partition,
which the filesystem takes over when it grows, and nothing reads it again because
the primary points elsewhere. A crash during or after step 1 leaves the old table; a
re-run sees the old primary verify, computes the same new table and writes it again
— every step is idempotent. `tests/growpart/test_growpart_gpt.py` checks the claim
for every step and any subset of the sectors of the step in flight; the crash tests
kill the process after each step and run `sgdisk -v`. `after_step` is called after
each step's fsync (fault injection in tests; progress).

Two fsyncs, not one per write: each costs about 3 ms on a loop device here, and the
only order that matters is "backup complete before the primary commits".
"""

from __future__ import annotations

from collections.abc import Callable

from growpart.disk import Disk
from growpart.gpt import GrownTable

__all__ = ["STEPS", "write_table"]

STEPS = ("backup", "primary")


def write_table(disk: Disk, grown: GrownTable,
                after_step: Callable[[str], None] | None = None) -> list[str]:
    """Write `grown` to `disk` in the crash-safe order; returns the steps done."""
    ss = grown.sector_size
    done: list[str] = []

    def step(name: str, writes: list[tuple[str, int, bytes]]) -> None:
        for what, lba, data in writes:
            disk.write(lba * ss, data, what)
        disk.sync()
        done.append(name)
        if after_step is not None:
            after_step(name)

    step("backup", [("backup-array", grown.backup_array_lba, grown.backup_array),
                    ("backup-header", grown.backup_lba, grown.backup)])
    commit: list[tuple[str, int, bytes]] = []
    if grown.primary_array_lba != grown.primary_lba + 1:
        # an unusual layout (sgdisk -j): the array, then the header that commits it
        commit.append(("primary-array", grown.primary_array_lba, grown.primary_array))
    commit.append(("primary", grown.primary_lba, grown.primary))
    if grown.mbr is not None:
        commit.append(("mbr", 0, grown.mbr))
    step("primary", commit)
    return done
