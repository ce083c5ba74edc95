"""What a checker reports (`Problem`), what the engine makes of it (`Finding`, located
and safe to print), and the checker contract services register (`Checker`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kindling.host import Host
from kindling.record import field, record
from kindling.validate.locate import Spots

__all__ = ["VALIDATOR_GROUP", "Checker", "FileReport", "Finding", "Problem"]

VALIDATOR_GROUP = "kindling.validators"


@record(frozen=True)
class Problem:
    """One error as a checker sees it: the rule broken (`message`, never a value), the
    key as users write it, and where: `path` (the key's segments in the document, for
    the engine to find its line) or `line` when the checker knows it already. `text`
    is the one-line form users read (default `key: message`)."""

    message: str
    key: str | None = None
    path: tuple[str, ...] | None = None
    line: int | None = None
    text: str | None = None

    def one_line(self) -> str:
        if self.text is not None:
            return self.text
        return f"{self.key}: {self.message}" if self.key else self.message


@record(frozen=True)
class Finding:
    """A located problem. `shown` is the source line as it may be printed (secrets
    replaced by `***`, control characters escaped); `column`/`width` mark the key."""

    file: str
    line: int | None
    key: str | None
    message: str
    text: str
    column: int | None = None
    width: int = 1
    shown: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": self.key, "message": self.message}


@record(frozen=True)
class FileReport:
    """Every finding of one file, and what the file was read as."""

    file: str
    kind: str
    label: str
    findings: list[Finding] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings


@record(frozen=True)
class Checker:
    """A kind of file a service knows how to check (entry points `kindling.validators`,
    named by the kind: `--kind NAME`).

    `check(text, source, host)` returns every problem (an empty list: valid); it reads
    nothing but `text`, except that settings checks may consult `host` read-only.
    `claims_name(file name)` and `claims(document)` let the engine tell the kind when
    `--kind` is not given: by name first (`net.toml`), then by content (`document` is
    the file read as TOML, or None when it is not TOML). `spots(text)` says where each
    key path is written (`kindling.validate.locate`), so the engine finds a problem's
    line from its `path`; `hides(path)` is True where a value must never be printed."""

    kind: str
    label: str
    check: Callable[[str, str, Host], list[Problem]]
    claims_name: Callable[[str], bool]
    claims: Callable[[dict[str, Any] | None, str], bool]
    spots: Callable[[str], Spots] | None = None
    hides: Callable[[tuple[str, ...]], bool] | None = None
