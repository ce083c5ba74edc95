"""Text output of `kindling validate`, in the manner of `cloud-init schema --annotate`:
per file a heading, then each error's source line with a marker under its key and
the message beside the marker; errors without a line come first, as text only."""

from __future__ import annotations

from kindling.log import printable, scrub
from kindling.validate.problem import FileReport, Finding


def _safe(text: str) -> str:
    """Keys come from input: a control character must not forge an output line."""
    return printable(scrub(text))

__all__ = ["render_report", "summary_line"]


def _block(finding: Finding, width: int) -> list[str]:
    text = _safe(finding.text)
    if finding.line is None:
        return [f"{'':>{width}}   {text}"]
    if finding.shown is None:
        return [f"{finding.line:>{width}} | {text}"]
    column = finding.column or (len(finding.shown) - len(finding.shown.lstrip()) + 1)
    column = min(column, len(finding.shown) + 1)
    marker = " " * (column - 1) + "^" * max(1, min(finding.width, len(finding.shown) - column + 1))
    return [f"{finding.line:>{width}} | {finding.shown}", f"{'':>{width}} | {marker} {text}"]


def render_report(report: FileReport) -> str:
    """The annotated text of one file's report (ends with a newline)."""
    count = len(report.findings)
    file = _safe(report.file)
    if report.ok:
        return f"{file}: {report.label}: ok" + (f" ({report.note})" if report.note else "") + "\n"
    head = f"{file}: {report.label}: {count} error{'s' if count != 1 else ''}"
    width = max(len(str(f.line or "")) for f in report.findings) or 1
    lines = [head]
    for finding in report.findings:
        lines.extend(_block(finding, width))
    return "\n".join(lines) + "\n"


def summary_line(report: FileReport) -> str:
    """One line for stderr naming the file and the first error (for logs and CI)."""
    first = report.findings[0]
    file = _safe(report.file)
    where = f"{file}:{first.line}" if first.line is not None else file
    count = len(report.findings)
    if count == 1:
        return f"{where}: {_safe(first.text)}"
    return f"{where}: {_safe(first.text)} (and {count - 1} more error{'s' if count > 2 else ''})"
