"""User data decoding shared by every provider (DESIGN §5): one place, one set of rules.

Bottlerocket's providers each call the same crate (`early-boot-config-provider`):
gzip is recognised by its magic bytes `1f 8b`, anything else passes through; the
TOML must be a table with a `settings` table, whose inside is the provider's result.
Kindling keeps those rules and adds the limit Bottlerocket lacks: 64 KiB after
decompression, enforced *while* decompressing so a gzip bomb costs at most 64 KiB of
memory. Errors name the source and what is wrong, never the content.
"""

from __future__ import annotations

import zlib
from typing import Any

from kindling.errors import InputError
from kindling.record import record

__all__ = [
    "GZIP_MAGIC",
    "MAX_USER_DATA",
    "UserData",
    "decompress",
    "parse_settings_toml",
    "parse_user_data",
    "register_secrets",
]

GZIP_MAGIC = b"\x1f\x8b"
MAX_USER_DATA = 64 * 1024


@record(frozen=True)
class UserData:
    """What one provider found: the settings tree (no outer `settings` key) and where."""

    settings: dict[str, Any]
    source: str


def decompress(data: bytes, *, source: str, limit: int = MAX_USER_DATA) -> bytes:
    """Gunzip `data` when it starts with the gzip magic; refuse output over `limit`.

    Decompression is bounded (`max_length`), so a bomb is stopped after `limit`
    bytes; several gzip members in a row are accepted, as `gzip -d` does.
    """
    if not data.startswith(GZIP_MAGIC):
        if len(data) > limit:
            raise InputError(f"user data larger than {limit // 1024} KiB", source=source)
        return data
    out = bytearray()
    rest = data
    while rest:
        engine = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = engine.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise InputError("gzip data does not decompress", source=source) from exc
        out += chunk
        if len(out) > limit or engine.unconsumed_tail:
            raise InputError(f"user data larger than {limit // 1024} KiB after decompression", source=source)
        if not engine.eof:
            raise InputError("gzip data is truncated", source=source)
        rest = engine.unused_data
        if rest and not rest.startswith(GZIP_MAGIC):
            if rest.strip(b"\0"):
                raise InputError("trailing data after the gzip stream", source=source)
            break
    return bytes(out)


def parse_settings_toml(text: str, *, source: str) -> dict[str, Any]:
    """The inside of the `[settings]` table of a TOML document.

    tomllib's messages carry only a rule and a position, never input text, so they
    are safe to show (`invalid TOML: Expected '=' … (at line 1, column 6)`).
    """
    from kindling.nesting import TomlError, loads_toml

    try:
        doc = loads_toml(text, source=source)
    except TomlError as exc:
        raise InputError(f"invalid TOML: {exc}", source=source) from None
    if "settings" not in doc:
        raise InputError("TOML data did not contain a 'settings' table", source=source)
    settings = doc["settings"]
    if not isinstance(settings, dict):
        raise InputError("settings: expected a table", source=source)
    return settings


def parse_user_data(data: bytes, *, source: str) -> UserData | None:
    """Raw bytes (maybe gzip) → `UserData`; empty or blank → None (no user data)."""
    raw = decompress(data, source=source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("user data is not UTF-8 text", source=source) from None
    if not text.strip():
        return None
    return UserData(parse_settings_toml(text, source=source), source)


def register_secrets(tree: dict[str, Any]) -> None:
    """Register the values of sensitive keys (DESIGN §6) so no log line can show them."""
    from kindling import log
    from kindling.redact import secret_values

    for value in secret_values(tree):  # list items too (registry credentials)
        log.register_secret(value)
