"""The one JSON envelope of `--json` output, success and failure alike (DESIGN §4).

    {"ok": true, ...the command's own fields...}
    {"ok": false, "error": {"source": ..., "key": ..., "message": ..., "kind": ...}, ...}

A script reads `ok` first, whatever the command. A command's fields stay at the top
level beside `ok` (what scripts read before the envelope existed keeps working); a
result that is not a JSON object goes under `result`. The CLI prints the failure
envelope for any error a command raises with `--json` given, unless the command already
printed its envelope (a boot whose report says `ok: false`): stdout holds one JSON
document, never two. Contract documents that are not `--json` output (`apiclient get`'s
settings, `netdog node-ip`) are printed as they are, by `cli_common.emit_json`.
"""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["emit_result", "emitted", "envelope", "error_envelope", "error_fields", "failure", "log_failure",
           "write_envelope"]


class _State:
    emitted = False


def envelope(value: Any, *, ok: bool = True, error: dict[str, Any] | None = None) -> dict[str, Any]:
    """`value` inside the envelope. `ok` is the command's outcome (its exit status is 0
    exactly when `ok` is true); a field `ok` of the value's own is replaced by it. A
    failed result says why in `error`, as a raised error's envelope does (`failure`)."""
    body = {k: v for k, v in value.items() if k != "ok"} if isinstance(value, dict) else {"result": value}
    if not ok:
        body["error"] = error or failure("failed", source="kindling")
    return {"ok": ok, **body}


def failure(message: str, *, source: str, key: str | None = None, kind: str = "failed") -> dict[str, Any]:
    """The `error` object of a command that reports its own failure (a boot stage that
    failed, a broken template) rather than raising."""
    from kindling.log import printable, scrub

    return {"source": source, "key": key, "message": printable(scrub(message)), "kind": kind}


def error_fields(exc: BaseException, *, command: str) -> dict[str, Any]:
    """Where an error came from, the full key when there is one, the CLI's message line.

    `source` is the input's name when the error carries one (`imds`, `--svg FILE`, a
    file), else the command; `key` the dotted settings key (`SettingsError`, the API's
    400 answers) or null; `kind` the error's class in words (`usage`, `settings`,
    `not-found`, `internal` for what Kindling did not raise on purpose).
    """
    from kindling.errors import describe
    from kindling.log import printable, scrub

    source = getattr(exc, "source", None)
    key = getattr(exc, "key", None)
    return {
        "source": source if isinstance(source, str) and source else command,
        "key": key if isinstance(key, str) and key else None,
        "message": printable(scrub(describe(exc))),
        "kind": _kind(exc),
    }


def _kind(exc: BaseException) -> str:
    from kindling import errors

    kinds: list[tuple[type[BaseException], str]] = [
        (errors.UsageError, "usage"), (errors.SettingsError, "settings"), (errors.InputError, "input"),
        (errors.NotFoundError, "not-found"), (errors.ConflictError, "conflict"),
        (errors.CommandError, "command"), (errors.HostError, "host"), (errors.KindlingError, "error"),
    ]
    return next((name for cls, name in kinds if isinstance(exc, cls)), "internal")


def log_failure(component: str, fields: dict[str, Any], code: int) -> None:
    """The one fatal line of a command, through the logger: `<3>` under journald, and
    under `--log-format json` a record carrying the error's `source`, `key`, `kind` and
    the exit status."""
    from kindling import log

    if not log.configured():
        log.configure()
    extra = {"source": fields["source"], "key": fields["key"], "kind": fields["kind"], "exit": code}
    log.get(component).error(fields["message"], **(extra if log.json_format() else {}))


def error_envelope(fields: dict[str, Any]) -> dict[str, Any]:
    return {"ok": False, "error": fields}


def write_envelope(doc: dict[str, Any]) -> None:
    """Print one envelope on stdout (at most one per process: see the module docstring)."""
    _State.emitted = True
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")


def emit_result(value: Any, *, ok: bool = True, error: dict[str, Any] | None = None) -> None:
    """A command's `--json` result, in the envelope."""
    write_envelope(envelope(value, ok=ok, error=error))


def emitted() -> bool:
    """Whether this process has printed its envelope already."""
    return _State.emitted
