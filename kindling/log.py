"""One line per event on stderr, readable from a failed boot's journal (issue 2, item 9).

- When stderr is journald's stream (`JOURNAL_STREAM`'s `dev:ino` is stderr's, as
  sd-daemon(3) says to check: a child that inherited the variable but not the stream
  must not prefix) each text line carries the syslog priority prefix (`<6>` info, `<4>`
  warning, `<3>` error, `<7>` debug) so journald files it at the right priority.
- `--log-format json` prints one JSON object per line for machines; `StderrGuard`
  wraps whatever else a command writes on stderr (argparse's usage errors, a child's
  stderr passed through) so that every line stays JSON.
- Secrets: code never passes values it read from user data into a message; as a
  second line of defence, values registered with `register_secret` are replaced by
  `***` in every line, whatever the caller did.

The stdlib `logging` package is not used: it costs import time on every boot step
(DESIGN §8) and its configuration is global and easy to get wrong in tests.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["Logger", "StderrGuard", "configure", "configured", "get", "journal_stream", "json_format", "printable",
           "register_secret", "scrub"]

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_PRIORITY = {10: 7, 20: 6, 30: 4, 40: 3}
_NAMES = {10: "debug", 20: "info", 30: "warning", 40: "error"}


class _Config:
    level = 20
    fmt = "text"
    journal = False
    configured = False
    stream: TextIO | None = None
    secrets: set[str] = set()


def configure(
    *, level: str = "info", fmt: str = "text", stream: TextIO | None = None
) -> None:
    """Set the process-wide level and format; the journal prefix follows the environment."""
    _Config.level = _LEVELS.get(level, 20)
    _Config.fmt = fmt
    _Config.journal = journal_stream(stream or sys.stderr)
    _Config.stream = stream
    _Config.configured = True


def configured() -> bool:
    """Whether a command has set the format yet (the CLI's error path asks)."""
    return _Config.configured


def json_format() -> bool:
    """Whether lines are JSON records (`--log-format json`)."""
    return _Config.fmt == "json"


def journal_stream(stream: object) -> bool:
    """Whether `stream` is the journal stream `JOURNAL_STREAM` (`<dev>:<ino>`) names."""
    value = os.environ.get("JOURNAL_STREAM", "")
    dev, sep, ino = value.partition(":")
    if not sep:
        return False
    try:
        st = os.fstat(stream.fileno())  # type: ignore[attr-defined]
        return (st.st_dev, st.st_ino) == (int(dev), int(ino))
    except (AttributeError, OSError, ValueError):
        return False


def register_secret(value: str) -> None:
    """Never print `value` again in this process (short values would scrub noise)."""
    if len(value) >= 6:
        _Config.secrets.add(value)


def scrub(text: str) -> str:
    """Replace registered secrets in `text` with `***`."""
    for secret in _Config.secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


_UNPRINTABLE = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"  # compiled on first use (re caches it)


def printable(text: str) -> str:
    """`text` with every control character (C0, DEL, C1, line/paragraph separators)
    written as `\\xNN`/`\\uNNNN`: a key holding `\\n<0>` must not forge a journal line.

    Every line Kindling prints (log lines, the CLI's error line) passes through here,
    so no caller has to remember which of its parts came from input.
    """
    if text.isprintable():
        return text
    import re  # only for text that needs it: a later boot imports no re (~3 ms with enum, functools)

    return re.sub(_UNPRINTABLE, lambda m: repr(m.group())[1:-1], text)


class Logger:
    """A named source of log lines (`netdog`, `early-boot-config`, …)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _emit(self, level: int, message: str, fields: dict[str, object]) -> None:
        if level < _Config.level:
            return
        stream = _Config.stream or sys.stderr
        if _Config.fmt == "json":
            import json

            record: dict[str, object] = {
                "ts": round(time.time(), 3),
                "level": _NAMES[level],
                "component": self.name,
                "msg": message,
            }
            record.update(fields)
            line = json.dumps(record, default=str, sort_keys=False)
        else:
            extra = "".join(f" {k}={v}" for k, v in fields.items())
            line = f"{self.name}: {message}{extra}"
            if _Config.journal:
                line = f"<{_PRIORITY[level]}>{line}"
        stream.write(printable(scrub(line)) + "\n")
        stream.flush()

    def debug(self, message: str, **fields: object) -> None:
        self._emit(10, message, fields)

    def info(self, message: str, **fields: object) -> None:
        self._emit(20, message, fields)

    def warning(self, message: str, **fields: object) -> None:
        self._emit(30, message, fields)

    def error(self, message: str, **fields: object) -> None:
        self._emit(40, message, fields)


def get(name: str) -> Logger:
    """The logger for one component."""
    return Logger(name)


class StderrGuard:
    """`sys.stderr` while a command runs with `--log-format json` or `--json`.

    JSON lines (the logger's) pass through. With `wrap`, any other complete line becomes
    a JSON record, so stderr carries nothing but JSON lines whatever wrote it: argparse's
    `prog: error: …` line as the fatal record the CLI writes for other errors (`level`
    error, `kind` usage, `exit` 2), the usage text and other lines at info. In both modes
    the last non-JSON line is kept: for a usage error, the CLI puts it in the `--json`
    failure envelope. Everything else (`fileno`, `isatty`) is the stream's.
    """

    def __init__(self, stream: TextIO, component: str, *, wrap: bool) -> None:
        self._stream = stream
        self._component = component
        self._wrap = wrap
        self._partial = ""
        self.last_text: str | None = None

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self._line(line)
        self._stream.flush()

    def _line(self, line: str) -> None:
        if _is_json_object(line):
            self._stream.write(line + "\n")
            return
        if line.strip():
            self.last_text = line
        if self._wrap:
            import json

            record: dict[str, object] = {"ts": round(time.time(), 3), "level": "info",
                                         "component": self._component, "msg": printable(scrub(line))}
            prog, sep, message = line.partition(": error: ")
            if sep and prog.startswith("kindling"):  # argparse's last words before exit 2
                record.update(level="error", msg=printable(scrub(message)), source=self._component,
                              key=None, kind="usage", exit=2)
            line = json.dumps(record)
        self._stream.write(line + "\n")

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _is_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    import json

    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
