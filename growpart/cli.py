"""`kindling growpart`: wiring only (DESIGN §4). The logic is in find.py and grow.py.

    kindling growpart [--missing-ok]                  # KINDLING-DATA, else BOTTLEROCKET-DATA
    kindling growpart --label NAME                    # another GPT partition name
    kindling growpart --device /dev/nvme1n1 [--partition N | --label NAME]
    kindling growpart --device disk.img --partition 2 # image files too (image builders)

`--plan` (also `--dry-run`) reads and verifies everything, then prints the writes,
ioctls and commands it would make and makes none. Exit 0 when the partition fills
its disk (grown now or already), 1 on any failure, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys

from growpart.errors import PartitionNotFoundError
from growpart.find import DEFAULT_LABELS, Target, find_by_label, find_on_disk
from growpart.grow import grow
from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.errors import UsageError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling growpart",
        description="Grow the data partition to the end of its disk (GPT, crash-safe), "
                    "tell the kernel, and grow its ext4/xfs filesystem.")
    parser.add_argument("--device", help="the whole disk or image file (absolute path)")
    parser.add_argument("--partition", type=int, help="partition number on --device")
    parser.add_argument("--label", action="append",
                        help="GPT partition name to look for (repeatable; default "
                             "KINDLING-DATA, then BOTTLEROCKET-DATA)")
    parser.add_argument("--no-fs", action="store_true", help="grow the partition only")
    parser.add_argument("--missing-ok", action="store_true",
                        help="no partition by these labels is not an error (exit 0): for "
                             "the unit, on nodes without a data partition")
    parser.add_argument("--lock-timeout", type=float, default=5.0, metavar="SECONDS",
                        help="wait this long for another holder of the disk's lock "
                             "(default 5)")
    add_common(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.partition is not None and args.device is None:
        raise UsageError("--partition needs --device")
    if args.partition is not None and args.label:
        raise UsageError("--partition and --label exclude each other")
    if args.partition is not None and args.partition < 1:
        raise UsageError("--partition counts from 1")
    if args.device is not None and not args.device.startswith("/"):
        raise UsageError("--device must be an absolute path")
    host = host_from_args(args)
    labels = tuple(args.label) if args.label else DEFAULT_LABELS
    if args.device is not None and args.partition is not None:
        target = Target(args.device, args.partition, None, "device")
    else:
        try:
            target = (find_on_disk(host, args.device, labels, lock_wait=args.lock_timeout)
                      if args.device is not None else find_by_label(host, labels))
        except PartitionNotFoundError as exc:
            if not args.missing_ok:
                raise
            if args.json:
                emit_json({"skipped": str(exc)})
            else:
                sys.stdout.write(f"SKIPPED: {exc}\n")
            return 0
    report = grow(host, target, resize_fs=not args.no_fs, lock_wait=args.lock_timeout)
    if args.json:
        out = report.to_json()
        if host.recording:
            out["plan"] = list(host.actions)
        emit_json(out)
        return 0
    lines = [report.summary(), f"kernel: {report.kernel}"]
    if report.fs is not None:
        lines.append(f"filesystem: {report.fs.detail}")
    if host.recording:
        lines.append("plan (nothing was done):" if host.actions else "plan: nothing to do")
        lines += [f"  {a}" for a in host.actions]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
