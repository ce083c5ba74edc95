"""Options every command takes (`--root`, `--plan`, `--json`, logging) and the Host
they build (DESIGN §4). Service CLIs call `add_common` and `host_from_args`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from kindling.host import Host

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Formatter", "RawDescriptionFormatter", "add_common", "emit_document", "emit_json", "host_from_args",
           "setup_logging"]


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter without `shutil` (~3 ms with bz2 and lzma), which
    argparse imports for the terminal width even when no help is printed (every
    `add_argument` builds a formatter). Same width rule as shutil.get_terminal_size."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            try:
                width = int(os.environ["COLUMNS"])
            except (KeyError, ValueError):
                try:
                    width = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 80
                except (OSError, ValueError, AttributeError):
                    width = 80
            width -= 2
        super().__init__(prog, indent_increment, max_help_position, width)


class RawDescriptionFormatter(Formatter, argparse.RawDescriptionHelpFormatter):
    """`Formatter` that keeps the description's and epilog's line breaks."""


def add_common(
    parser: argparse.ArgumentParser, *, acts: bool = True, prints: bool = True, sub: bool = False
) -> None:
    """Add --root (and --plan for commands that act, --json for commands that print).

    With `sub=True` (on a subcommand's parser) the options default to "not given", so
    `kindling apiclient --root X get` and `kindling apiclient get --root X` both work.
    """
    sup = argparse.SUPPRESS
    parser.add_argument("--root", help="root prefix for every path (env KINDLING_ROOT)",
                        default=sup if sub else None)
    if acts:
        parser.add_argument(
            "--plan", "--dry-run", dest="plan", action="store_true",
            help="print what would be done and do nothing", default=sup if sub else False,
        )
    if prints:
        parser.add_argument("--json", action="store_true", help="machine-readable output",
                            default=sup if sub else False)
    parser.add_argument("--log-format", choices=("text", "json"), default=sup if sub else "text",
                        help="log lines on stderr as text or as one JSON object each (default text)")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                        default=sup if sub else "info", help="least severe log lines shown (default info)")


def setup_logging(args: argparse.Namespace) -> None:
    from kindling import log

    log.configure(level=args.log_level, fmt=args.log_format)


def host_from_args(args: argparse.Namespace) -> Host:
    from kindling.host import host_from_env

    setup_logging(args)
    return host_from_env(args.root, plan=bool(getattr(args, "plan", False)))


def emit_json(value: Any, *, ok: bool = True, error: dict[str, Any] | None = None) -> None:
    """A command's `--json` output, in the envelope every command shares
    (`{"ok": true, ...its fields}`; with `ok=False`, `error` from `envelope.failure`)."""
    from kindling.envelope import emit_result

    emit_result(value, ok=ok, error=error)


def emit_document(value: Any) -> None:
    """A JSON document whose shape a contract fixes (`apiclient get` prints Bottlerocket's
    `{"settings": …}`), printed as it is: no envelope."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")
