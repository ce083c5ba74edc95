"""External user-data providers: executables in `/etc/kindling/providers.d/` (DESIGN §3, §5).

Bottlerocket's contract, kept so existing provider binaries work unchanged:
the program logs on stderr; empty stdout means no data; stdout JSON
`{"json": {...settings without the outer key...}, "desc": "..."}` is data; a
non-zero exit is fatal and stdout is the message. Names are `NN-name`; NN is the
order and must be 50-98 (10-40 and 99 belong to the built-in sources). Programs run
through `host.run` with a timeout and a 1 MiB cap on stdout, read as it comes, in a
session of their own whose whole process group is killed on either (a hung or flooding
provider fails the boot clearly instead of hanging it or eating memory), and are
treated as read-only: they report data, Kindling commits it, so
they also run under `--plan`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

from kindling import log
from kindling.errors import CommandError, InputError
from kindling.host import Host
from kindling.nesting import loads_json
from kindling.providers import UserDataProvider
from kindling.user_data import UserData

__all__ = [
    "EXTERNAL_DIR",
    "PROVIDER_TIMEOUT",
    "discover_external",
    "parse_provider_output",
    "provider_timeout",
]

EXTERNAL_DIR = "/etc/kindling/providers.d"
PROVIDER_TIMEOUT = 120.0
_NAME = r"(\d{2})-[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
_MAX_STDOUT = 1024 * 1024
_MAX_LOG_LINES = 50
_LEFTOVERS = ("~", ".bak", ".rpmnew", ".rpmsave", ".dpkg-old", ".dpkg-new")


def parse_provider_output(stdout: bytes, *, source: str) -> UserData | None:
    """Decode a provider's stdout (Bottlerocket's `SettingsJson`); blank → None."""
    if len(stdout) > _MAX_STDOUT:
        raise InputError(f"output larger than {_MAX_STDOUT // 1024} KiB", source=source)
    try:
        text = stdout.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError("output is not UTF-8", source=source) from None
    if not text:
        return None
    try:
        doc: Any = loads_json(text, source=source)
    except json.JSONDecodeError as exc:
        raise InputError(f"output is not JSON (line {exc.lineno} column {exc.colno})", source=source) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("json"), dict):
        raise InputError("output must be a JSON object with a 'json' object", source=source)
    desc = doc.get("desc")
    where = f"{source}: {desc}" if isinstance(desc, str) and desc.strip() else source
    return UserData(doc["json"], where[:200])


def provider_timeout(host: Host) -> float:
    """`KINDLING_PROVIDER_TIMEOUT` seconds, else 120 s (Bottlerocket has none at all)."""
    from kindling.env_seconds import env_seconds

    return env_seconds(host.env, "KINDLING_PROVIDER_TIMEOUT", PROVIDER_TIMEOUT)


def _reader(path: str, name: str, platform: str) -> Callable[[Host], UserData | None]:
    def read(host: Host) -> UserData | None:
        logger = log.get(f"provider {name}")
        timeout = provider_timeout(host)
        try:
            result = host.run(
                [str(host.path(path))],
                timeout=timeout,
                check=False,
                read_only=True,
                env={"EARLY_BOOT_CONFIG_LOG_LEVEL": "info", "KINDLING_PLATFORM": platform},
                limit=_MAX_STDOUT,
            )
        except CommandError as exc:
            if exc.stderr:
                _log_stderr(logger, exc.stderr)
            if exc.reason is not None and exc.reason.startswith("stdout larger"):
                raise InputError(f"output larger than {_MAX_STDOUT // 1024} KiB", source=path) from exc
            raise InputError(exc.reason or str(exc), source=path) from exc
        _log_stderr(logger, result.stderr.decode("utf-8", "replace"))
        if result.returncode != 0:
            message = result.text.strip().splitlines()[:1]
            detail = f": {message[0][:300]}" if message else ""
            raise InputError(f"exited {result.returncode}{detail}", source=path)
        return parse_provider_output(result.stdout, source=path)

    return read


def _log_stderr(logger: log.Logger, text: str) -> None:
    """A provider's stderr into the log, at most `_MAX_LOG_LINES` lines of 300 chars
    (the runner keeps only the tail of a flood): a chatty provider cannot fill the
    journal, and the count of what was left out is said."""
    lines = [line.rstrip()[:300] for line in text.splitlines() if line.strip()]
    for line in lines[:_MAX_LOG_LINES]:
        logger.info(line)
    if len(lines) > _MAX_LOG_LINES:
        logger.warning(f"{len(lines) - _MAX_LOG_LINES} more stderr lines not logged")


def discover_external(host: Host, platform: str) -> list[UserDataProvider]:
    """Executables in `providers.d`, as providers ordered by their NN prefix.

    Hidden files and editor leftovers (`*~`, `*.bak`, `*.rpmnew`…) are ignored;
    a name that is not `NN-name`, an order outside 50-98 or a file that is not
    executable is an error: a provider that silently does not run is worse.
    """
    found: list[UserDataProvider] = []
    for entry in host.listdir(EXTERNAL_DIR):
        if entry.startswith(".") or entry.endswith(_LEFTOVERS):
            continue
        path = f"{EXTERNAL_DIR}/{entry}"
        match = re.fullmatch(_NAME, entry)
        if match is None:
            raise InputError("provider names must look like NN-name", source=path)
        order = int(match.group(1))
        if not 50 <= order <= 98:
            raise InputError("external providers take orders 50-98", source=path)
        real = host.path(path)
        if not real.is_file() or not os.access(real, os.X_OK):
            raise InputError("not an executable file", source=path)
        found.append(UserDataProvider(name=entry, order=order, read=_reader(path, entry, platform), description=path))
    return found
