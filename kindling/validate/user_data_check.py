"""User data: a TOML document with a `[settings]` table (gzip allowed), or the same as
JSON (`{"settings": {…}}`, what `apiclient apply` reads).

The TOML is read by the very function every provider uses (`parse_settings_toml`), so
a syntax error, a missing `settings` table or a document nested too deep is refused
here exactly as at boot. JSON is a settings document for `apiclient apply`; launch
user data is TOML only, so with `--platform` (the file is meant for a launch) JSON is
refused as early-boot-config would refuse it.
"""

from __future__ import annotations

from typing import Any

from kindling.errors import InputError
from kindling.host import Host
from kindling.validate.locate import json_spots, toml_spots
from kindling.validate.problem import Checker, Problem
from kindling.validate.settings_check import check_settings_tree, hides_value

__all__ = ["user_data_checker"]


def _message(exc: InputError) -> str:
    text = str(exc)
    prefix = f"{exc.source}: " if exc.source else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def _is_json(text: str) -> bool:
    return text.lstrip().startswith("{")


def _from_json(text: str, source: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    from kindling.nesting import loads_json

    try:
        doc = loads_json(text, source=source)
    except InputError as exc:
        return None, [Problem(_message(exc))]
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        rule = getattr(exc, "msg", "not valid JSON")
        return None, [Problem(f"malformed JSON: {rule}", line=line)]
    if not isinstance(doc, dict) or set(doc) != {"settings"}:
        return None, [Problem("expected a document with only a top-level 'settings' table")]
    if not isinstance(doc["settings"], dict):
        return None, [Problem("expected a table", key="settings", path=("settings",))]
    return doc["settings"], []


def _from_toml(text: str, source: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    from kindling.user_data import parse_settings_toml

    try:
        return parse_settings_toml(text, source=source), []
    except InputError as exc:
        return None, [Problem(_message(exc))]


def check_user_data(text: str, source: str, host: Host, *, platform: str | None = None) -> list[Problem]:
    """Every problem of one user-data document (already decompressed and decoded)."""
    from kindling.user_data import register_secrets

    if not text.strip():
        return []  # no user data: early-boot-config commits nothing and succeeds
    if _is_json(text) and platform is not None:
        return [Problem(f"launch user data on {platform} is TOML; JSON is read by 'apiclient apply', "
                        "not at boot", line=1)]
    settings, problems = (_from_json if _is_json(text) else _from_toml)(text, source)
    if settings is None:
        return problems
    register_secrets(settings)  # no line printed from here on can show them
    return check_settings_tree(settings, host)


def _claims(doc: dict[str, Any] | None, text: str) -> bool:
    return (doc is not None and "settings" in doc) or _is_json(text)


def user_data_checker(platform: str | None) -> Checker:
    """The user-data kind (the hub's own); `platform` is the launch it is meant for."""
    return Checker(
        kind="userdata",
        label="user data",
        check=lambda text, source, host: check_user_data(text, source, host, platform=platform),
        claims_name=lambda name: False,
        claims=_claims,
        spots=lambda text: (json_spots if _is_json(text) else toml_spots)(text),
        hides=hides_value,
    )
