"""`kindling early-boot-config [--platform P] [--plan] [--json]` (DESIGN §4): wiring only."""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import add_common, emit_json, host_from_args

__all__ = ["main"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="kindling early-boot-config",
        description="Read this platform's user data, validate it and commit it at first boot.",
    )
    parser.add_argument("--platform", default="auto", choices=("auto", "aws", "vmware", "metal"))
    add_common(parser)
    args = parser.parse_args(argv)
    host = host_from_args(args)

    from early_boot.runner import run_early_boot
    from kindling.platform_id import resolve_platform

    platform = resolve_platform(host, args.platform)
    report = run_early_boot(host, platform)
    if args.json:
        out = report.to_json()
        out["plan"] = host.recording
        out["actions"] = list(host.actions)
        emit_json(out)
        return 0
    write = sys.stdout.write
    if report.skipped:
        write(f"early-boot-config: skipped: {report.skipped}\n")
        return 0
    for p in report.providers:
        found = f"{p.keys} keys from {p.source}" if p.source else "no user data"
        write(f"{p.order:>3} {p.name:<22} {found}\n")
    write(f"early-boot-config: platform {platform}, {len(report.changed)} keys changed\n")
    for failure in report.applier_failures:
        write(f"warning: applier {failure}\n")
    if host.recording:
        for action in host.actions:
            write(f"    would {action}\n")
    return 0
