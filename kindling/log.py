"""One line per event on stderr, readable from a failed boot's journal (issue 2, item 9).

- Under systemd (`JOURNAL_STREAM` set) each line carries the syslog priority prefix
  (`<6>` info, `<4>` warning, `<3>` error, `<7>` debug) so journald files it right.
- `--log-format json` prints one JSON object per line for machines.
- Secrets: code never passes values it read from user data into a message; as a
  second line of defence, values registered with `register_secret` are replaced by
  `***` in every line, whatever the caller did.

The stdlib `logging` package is not used: it costs import time on every boot step
(DESIGN §8) and its configuration is global and easy to get wrong in tests.
"""

from __future__ import annotations

import os
import re
import sys
import time

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["Logger", "configure", "get", "printable", "register_secret", "scrub"]

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_PRIORITY = {10: 7, 20: 6, 30: 4, 40: 3}
_NAMES = {10: "debug", 20: "info", 30: "warning", 40: "error"}


class _Config:
    level = 20
    fmt = "text"
    journal = False
    stream: TextIO | None = None
    secrets: set[str] = set()


def configure(
    *, level: str = "info", fmt: str = "text", stream: TextIO | None = None
) -> None:
    """Set the process-wide level and format; the journal prefix follows the environment."""
    _Config.level = _LEVELS.get(level, 20)
    _Config.fmt = fmt
    _Config.journal = bool(os.environ.get("JOURNAL_STREAM"))
    _Config.stream = stream


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
