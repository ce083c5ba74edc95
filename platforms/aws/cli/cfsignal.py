"""`kindling cfsignal`: signal the CloudFormation stack with the boot's outcome."""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import add_common, emit_json, host_from_args
from platforms.aws.cli import ENVIRONMENT, seconds

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling cfsignal",
        description="Wait for the boot to settle, then send CloudFormation SignalResource "
        "(SUCCESS if systemd reports running, else FAILURE) when settings.cloudformation.should-signal.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--status", type=str.upper, choices=("SUCCESS", "FAILURE"),
                        help="send this status without waiting (e.g. from an emergency unit)")
    parser.add_argument("--timeout", type=seconds, default=900.0,
                        help="longest wait for the boot to settle, seconds (default 900); then FAILURE")
    add_common(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)

    from platforms.aws.cfsignal import run_cfsignal

    report = run_cfsignal(host, status=args.status, timeout=args.timeout)
    if args.json:
        emit_json(report.to_json())
    else:
        sys.stdout.write(f"cfsignal: {report.detail}\n")
        for action in host.actions if host.recording else ():
            sys.stdout.write(f"    would {action}\n")
    return 0
