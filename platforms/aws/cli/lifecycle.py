"""`kindling lifecycle complete`: answer the Auto Scaling launch lifecycle hook."""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.errors import UsageError
from platforms.aws.cli import ENVIRONMENT, seconds

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kindling lifecycle",
                                     description="Answer the Auto Scaling launch lifecycle hook.")
    sub = parser.add_subparsers(dest="verb", metavar="complete")
    complete = sub.add_parser(
        "complete",
        help="CompleteLifecycleAction: CONTINUE after a good boot, ABANDON after a bad one",
        description="When settings.autoscaling.lifecycle-hook-name is set and the instance waits in "
        "Pending:Wait, wait for the boot to settle (sending heartbeats), then complete the action.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    complete.add_argument("--result", type=str.upper, choices=("CONTINUE", "ABANDON"),
                          help="send this result without waiting")
    complete.add_argument("--timeout", type=seconds, default=900.0,
                          help="longest wait for the boot to settle, seconds (default 900); then ABANDON")
    complete.add_argument("--heartbeat", type=seconds, default=60.0,
                          help="seconds between RecordLifecycleActionHeartbeat calls while waiting (default 60)")
    add_common(complete)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb != "complete":
        raise UsageError("usage: kindling lifecycle complete [--result CONTINUE|ABANDON] [--timeout S]")
    host = host_from_args(args)

    from platforms.aws.lifecycle import run_lifecycle_complete

    report = run_lifecycle_complete(host, result=args.result, timeout=args.timeout, heartbeat=args.heartbeat)
    if args.json:
        emit_json(report.to_json())
    else:
        sys.stdout.write(f"lifecycle: {report.detail}\n")
        for action in host.actions if host.recording else ():
            sys.stdout.write(f"    would {action}\n")
    return 0
