"""`kindling boot`: run every stage in boot order (DESIGN §4)."""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import Formatter, add_common, emit_json, host_from_args

__all__ = ["main"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kindling boot", description=__doc__, formatter_class=Formatter)
    parser.add_argument("--platform", default="auto", choices=("auto", "aws", "vmware", "metal"))
    parser.add_argument("--full", action="store_true",
                        help="run every stage, even those whose inputs are unchanged since the last boot")
    add_common(parser)
    args = parser.parse_args(argv)
    host = host_from_args(args)

    from kindling.boot import StageRecord, format_record, run_boot
    from kindling.platform_id import resolve_platform

    platform = resolve_platform(host, args.platform)

    def show(record: StageRecord) -> None:
        if args.json:
            return
        sys.stdout.write(format_record(record) + "\n")
        if host.recording:
            diffs: dict[int, str] = getattr(host, "diffs", {})
            first = len(host.actions) - len(record.actions)
            for index, action in enumerate(record.actions):
                sys.stdout.write(f"    would {action}\n")
                for line in diffs.get(first + index, "").splitlines():
                    sys.stdout.write(f"      {line}\n")
        sys.stdout.flush()

    if not args.json:
        mode = " (plan: nothing will be changed)" if host.recording else ""
        sys.stdout.write(f"kindling boot: platform {platform}, root {host.root}{mode}\n")
    report = run_boot(host, platform, on_record=show, full=args.full)
    if args.json:
        emit_json(report.to_json())
    else:
        total = sum(r.duration for r in report.records) * 1000
        verdict = "ok" if report.ok else "FAILED"
        sys.stdout.write(f"boot {verdict}: {len(report.records)} stages in {total:.1f} ms\n")
    return 0 if report.ok else 1
