"""`kindling validate [FILE…|-]`: wiring only (STYLE) — read, run the engine, print."""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import RawDescriptionFormatter, add_common, setup_logging
from kindling.errors import UsageError
from kindling.validate.problem import FileReport

__all__ = ["build_parser", "failure_of", "main", "print_reports"]

_EPILOG = """\
Every error of each file is reported, with its line and key; the file is checked
the way the boot would check it, without a datastore, a network or a cloud.
The kind is told from the name (net.toml, drivers/*.toml, *.bootconfig) or the
content (a [settings] table, version =, modules sets, bootconfig syntax).

exit status: 0 every file is valid, 1 an error was found, 2 usage

examples:
  kindling validate user-data.toml
  gzip -c user-data.toml | kindling validate - --platform aws
  kindling validate --kind net ./net.toml --json
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kindling validate", formatter_class=RawDescriptionFormatter, epilog=_EPILOG,
                description="Check user data (TOML, gzip, JSON), net.toml, driver configs and "
                            "bootconfig offline, before a launch.")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="files to check; - reads standard input")
    p.add_argument("--kind", choices=("userdata", "net", "driver", "bootconfig"),
                   help="read every FILE as this kind instead of telling it from name and content")
    p.add_argument("--platform", choices=("aws", "vmware", "metal"),
                   help="check user data as launch user data for this platform "
                        "(TOML only, as early-boot-config reads it)")
    add_common(p, acts=False)
    return p


def print_reports(reports: list[FileReport], *, as_json: bool, prog: str, stdout: bool = True) -> int:
    """Print the reports (annotated text, or one JSON list; nothing on stdout when
    `stdout` is False), one summary line per failed file on stderr; the exit status."""
    from kindling.validate.annotate import render_report

    ok = all(r.ok for r in reports)
    if not stdout:
        pass
    elif as_json:  # the envelope every --json shares; findings already hold *** for secrets
        from kindling.cli_common import emit_json

        emit_json({"findings": [f.to_json() for r in reports for f in r.findings]}, ok=ok,
                  error=None if ok else failure_of(next(r for r in reports if not r.ok)))
    else:
        sys.stdout.write("".join(render_report(r) for r in reports))
    from kindling.envelope import log_failure

    for report in reports:  # each failed file's fatal line, as the CLI writes its own
        if not report.ok:
            log_failure(prog, failure_of(report), 1)
    return 0 if ok else 1


def failure_of(report: FileReport) -> dict[str, object]:
    """The envelope's `error` for a file with errors: the file, its first key and line."""
    from kindling.envelope import failure
    from kindling.validate.annotate import summary_line

    first = report.findings[0]
    return failure(summary_line(report), source=report.file, key=first.key, kind="input")


def main(argv: list[str]) -> int:
    from kindling.host import host_from_env
    from kindling.validate.engine import read_input, validate_data

    args = build_parser().parse_args(argv)
    setup_logging(args)
    files = args.files or ["-"]
    if not args.files and sys.stdin.isatty():
        raise UsageError("give a FILE to check, or - to read standard input")
    if files.count("-") > 1:
        raise UsageError("standard input (-) can be read once")
    host = host_from_env(args.root, plan=True)  # the checks only read; a plan host cannot act
    reports = []
    for name in files:
        data, source = read_input(name)
        reports.append(validate_data(data, source, host, kind=args.kind, platform=args.platform))
    return print_reports(reports, as_json=args.json, prog="kindling validate")
