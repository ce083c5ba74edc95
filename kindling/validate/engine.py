"""The validate engine: bytes in, a `FileReport` out (every error, located, printable).

Steps: gunzip when the data starts with the gzip magic (user data only, bounded as at
boot), decode UTF-8, tell the kind (`--kind`, else the file's name, else its
content), run that kind's checker, then find each problem's line and prepare the
source line to show: control characters escaped, registered secrets replaced, and
on a line that holds a sensitive key nothing printed past that line's first key.
Every problem the checkers raise is turned into a finding; nothing here raises for
bad input (a bug still reaches the CLI's last-resort line).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kindling.errors import InputError, UsageError
from kindling.host import Host
from kindling.validate.locate import Spot, Spots, find
from kindling.validate.problem import VALIDATOR_GROUP, Checker, FileReport, Finding, Problem

__all__ = ["KINDS", "checkers", "read_input", "validate_data"]

KINDS = ("userdata", "net", "driver", "bootconfig")
MAX_INPUT = 4 * 1024 * 1024
MAX_SHOWN = 240
_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def checkers(platform: str | None = None) -> dict[str, Checker]:
    """The hub's user-data checker and every registered one, by kind."""
    from kindling.registry import load
    from kindling.validate.user_data_check import user_data_checker

    found = {"userdata": user_data_checker(platform)}
    for checker in load(VALIDATOR_GROUP):
        if isinstance(checker, Checker):
            found.setdefault(checker.kind, checker)
    return found


def read_input(name: str) -> tuple[bytes, str]:
    """(data, source) of FILE or `-`; a file that cannot be read is a usage error."""
    import os
    import sys

    if name == "-":
        return sys.stdin.buffer.read(MAX_INPUT + 1), "stdin"
    if os.path.isdir(name):
        raise UsageError(f"{name}: is a directory (give a file, or - for standard input)")
    try:
        with open(name, "rb") as fh:
            return fh.read(MAX_INPUT + 1), name
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror}") from None


def _message(exc: InputError) -> str:
    text = str(exc)
    prefix = f"{exc.source}: " if exc.source else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def _toml_doc(text: str, source: str) -> dict[str, Any] | None:
    from kindling.nesting import TomlError, loads_toml

    try:
        return loads_toml(text, source=source)
    except (TomlError, InputError):
        return None


def _detect(found: dict[str, Checker], name: str, text: str, source: str) -> Checker:
    """By name (`net.toml`, `drivers/x.toml`, `*.bootconfig`), then by content; user
    data when nothing claims the file (its errors then say what user data lacks)."""
    for kind in KINDS[1:]:
        checker = found.get(kind)
        if checker is not None and name != "stdin" and checker.claims_name(name):
            return checker
    doc = _toml_doc(text, source) if not text.lstrip().startswith("{") else None
    if found["userdata"].claims(doc, text):
        return found["userdata"]
    for kind in KINDS[1:]:
        checker = found.get(kind)
        if checker is not None and checker.claims(doc, text):
            return checker
    return found["userdata"]


def validate_data(
    data: bytes,
    source: str,
    host: Host,
    *,
    kind: str | None = None,
    platform: str | None = None,
    name: str | None = None,
) -> FileReport:
    """Check one file's bytes; `source` names it in every finding, `name` (default
    `source`) is what the kind is told from."""
    from kindling.user_data import GZIP_MAGIC, MAX_USER_DATA, decompress

    found = checkers(platform)
    if kind is not None and kind not in found:
        raise UsageError(f"unknown kind {kind!r} (known: {', '.join(sorted(found))})")
    forced = found[kind] if kind else None

    def refused(checker: Checker, *problems: Problem) -> FileReport:
        return FileReport(source, checker.kind, checker.label,
                          [_finding(source, p, None, None, checker) for p in problems])

    if len(data) > MAX_INPUT:
        return refused(forced or found["userdata"], Problem(f"larger than {MAX_INPUT // (1024 * 1024)} MiB"))
    gzipped = data.startswith(GZIP_MAGIC)
    if gzipped:
        if forced is not None and forced.kind != "userdata":
            return refused(forced, Problem("gzip data: only user data is read compressed"))
        forced = found["userdata"]
    if gzipped or (forced is not None and forced.kind == "userdata"):
        try:
            data = decompress(data, source=source, limit=MAX_USER_DATA)
        except InputError as exc:
            return refused(found["userdata"], Problem(_message(exc)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return refused(forced or found["userdata"],
                       Problem(f"not UTF-8 text (byte {exc.start})", line=line))
    checker = forced or _detect(found, name or source, text, source)
    if checker.kind == "userdata" and not gzipped and len(data) > MAX_USER_DATA:
        return refused(checker, Problem(f"user data larger than {MAX_USER_DATA // 1024} KiB"))
    problems = checker.check(text, source, host)
    spots: Spots = checker.spots(text) if checker.spots is not None and problems else {}
    lines = text.splitlines()
    findings = [_finding(source, p, spots, lines, checker) for p in problems]
    findings.sort(key=lambda f: (f.line is not None, f.line or 0))
    note = "empty: no settings" if checker.kind == "userdata" and not text.strip() else ""
    return FileReport(source, checker.kind, checker.label + (" (gzip)" if gzipped else ""), findings, note)


def _finding(
    source: str, problem: Problem, spots: Spots | None, lines: list[str] | None, checker: Checker
) -> Finding:
    spot: Spot | None = None
    line = problem.line
    column: int | None = None
    if line is None and problem.path and spots:
        spot = find(spots, problem.path)
    if spot is not None:
        line, column = spot.line, spot.column
    if line is None:
        at = _AT_LINE.search(problem.message)
        if at:
            line, column = int(at.group(1)), int(at.group(2))
    shown = None
    if lines is not None and line is not None and 0 < line <= len(lines):
        shown = _shown(lines[line - 1], line, spots or {}, checker.hides)
    return Finding(
        file=source, line=line, key=problem.key, message=problem.message, text=problem.one_line(),
        column=column, width=spot.width if spot else 1, shown=shown,
    )


def _shown(text: str, line: int, spots: Spots, hides: Callable[[tuple[str, ...]], bool] | None) -> str:
    """The source line as it may be printed: nothing past its first `=`/`:` when any
    key written on it is sensitive, or when no key of it could be read (a syntax
    error: what it holds is unknown); secrets scrubbed; escapes; bounded."""
    from kindling.log import printable, scrub

    on_line = [p for p, s in spots.items() if s.line == line]
    if hides is not None and (not on_line or any(hides(p) for p in on_line)):
        seps = [i for i in (text.find("="), text.find(":")) if i >= 0]
        text = (text[: min(seps) + 1] + " ***") if seps else "***"
    text = printable(scrub(text))
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + " …"
