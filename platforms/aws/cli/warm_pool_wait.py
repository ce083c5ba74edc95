"""`kindling warm-pool-wait`: wait until the Auto Scaling warm pool puts this instance in service."""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import add_common, emit_json, host_from_args
from platforms.aws.cli import ENVIRONMENT, seconds

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling warm-pool-wait",
        description="Poll IMDS autoscaling/target-lifecycle-state until InService when "
        "settings.autoscaling.should-wait (order this before the orchestrator's unit).",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--interval", type=seconds, default=5.0, help="seconds between polls (default 5)")
    parser.add_argument("--timeout", type=seconds, default=None,
                        help="give up after this many seconds (default: wait as long as it takes)")
    add_common(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)

    from platforms.aws.warm_pool import run_warm_pool_wait

    report = run_warm_pool_wait(host, interval=args.interval, timeout=args.timeout)
    if args.json:
        emit_json(report.to_json())
    else:
        sys.stdout.write(f"warm-pool-wait: {report.detail}\n")
        for action in host.actions if host.recording else ():
            sys.stdout.write(f"    would {action}\n")
    return 0
