"""Boot stage `growpart` (order 10, band "local disks"; unit Before=local-fs.target).

Finds the data partition by name (KINDLING-DATA, else BOTTLEROCKET-DATA) and grows it
and its filesystem before anything mounts it, so ext4 grows offline. A node without
a data partition is skipped, not failed: not every node has one.
"""

from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok, skipped

__all__ = ["STAGE"]


def run(ctx: BootContext) -> StageResult:
    from growpart.candidates import DEFAULT_LABELS, SCANNED_DISKS, candidate_disks, not_found, udev_has_data

    if not udev_has_data(ctx.host) and not candidate_disks(ctx.host):
        # nothing to search: said as the scan would say it, without importing the GPT reader
        return skipped(not_found(DEFAULT_LABELS, SCANNED_DISKS))
    # lazy: a node without a data partition (every later boot of most) needs none of these
    from growpart.errors import PartitionNotFoundError
    from growpart.find import find_by_label

    try:
        target = find_by_label(ctx.host)
    except PartitionNotFoundError as exc:
        return skipped(str(exc))
    from growpart.grow import grow

    report = grow(ctx.host, target)
    fs = f"; {report.fs.detail}" if report.fs is not None else ""
    return ok(f"{report.summary()}{fs}")


STAGE = Stage(
    name="growpart",
    order=10,
    run=run,
    unit="kindling-growpart.service",
    per_boot=True,
    description="grow the data partition and its filesystem to fill the disk",
)
