"""The helpers templates use: base64, URL checks and quoting for TOML, JSON, YAML and env
files (Bottlerocket's schnauzer helpers `base64_decode`, `join_array`, `default`,
`toml_encode`…, as Jinja filters).

Quoting is done here, never by string pasting in templates: a label value with a
quote, or a registry password with a backslash, must not break the file its consumer
parses. Every refusal raises `HelperError` with the setting's key (from the view),
never the value. Pure functions: no Host, no clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from kindling.templates.errors import HelperError
from kindling.templates.view import key_of

__all__ = [
    "FILTERS", "b64decode", "env_literal", "env_value", "http_url", "json_compact", "json_value", "systemd_arg",
    "toml_value", "yaml_value",
]


def _plain(value: Any) -> Any:
    """View values back to plain ones (str subclasses keep their text)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def b64decode(value: Any) -> str:
    """Strict base64 (padding and alphabet checked) to UTF-8 text."""
    key = key_of(value)
    if not isinstance(value, str):
        raise HelperError("base64_decode: expected a string", key)
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise HelperError("not valid base64 (or not UTF-8 text once decoded)", key) from None


def b64encode(value: Any) -> str:
    text = str(value)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def http_url(value: Any) -> str:
    """An http(s) URL with a host, as containerd's hosts.toml needs (a bare host is not)."""
    key = key_of(value)
    if not isinstance(value, str):
        raise HelperError("expected a URL string", key)
    parts = urlsplit(value)
    try:
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        raise HelperError("not an http:// or https:// URL with a host", key)
    return str(value)


def json_value(value: Any, indent: int | None = None) -> str:
    """JSON text of any value (sorted keys keep files stable between renders)."""
    return json.dumps(_plain(value), indent=indent, sort_keys=True, ensure_ascii=False)


def json_compact(value: Any) -> str:
    """JSON on one line without spaces (values of `KEY=value` files read literally)."""
    return json.dumps(_plain(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def env_literal(value: Any) -> str:
    """A value for a `KEY=value` file read literally (docker `--env-file`, ecs-init's
    /etc/ecs/ecs.config): no quoting exists there, so only single lines are accepted."""
    key = key_of(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else json_compact(value)
    if any(c in text for c in "\n\r\x00"):
        raise HelperError("env: a value must be a single line", key)
    return str(text)


def yaml_value(value: Any) -> str:
    """A YAML scalar or flow collection: JSON is YAML, and double-quoted JSON strings
    never turn into booleans, numbers or anchors the way bare YAML words do."""
    return json.dumps(_plain(value), ensure_ascii=True, sort_keys=True)


_TOML_BARE_KEY = r"[A-Za-z0-9_-]+"


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\u{code:04x}"))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_key(value: Any) -> str:
    text = str(value)
    return text if re.fullmatch(_TOML_BARE_KEY, text) else _toml_string(text)


def toml_value(value: Any) -> str:
    """A TOML value: basic strings with escapes, integers, booleans, arrays, inline tables."""
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HelperError("toml: not a finite number")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + (f" {inner} " if inner else "") + "}"
    raise HelperError(f"toml: cannot encode {type(value).__name__}")


_ENV_PLAIN = r"[A-Za-z0-9_./:,@%+=-]*"


def env_value(value: Any) -> str:
    """A value for a `KEY=value` environment file in systemd's `EnvironmentFile=` dialect.

    systemd treats quotes anywhere in a value as quoting and a backslash as an escape,
    so a JSON value (ECS_INSTANCE_ATTRIBUTES) must be double-quoted with `"` and `\\`
    escaped; plain words stay bare so simpler readers (ecs-init) see the same text.
    """
    key = key_of(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else json.dumps(_plain(value), sort_keys=True)
    if any(c in text for c in "\n\r\x00"):
        raise HelperError("env: a value must be a single line", key)
    if re.fullmatch(_ENV_PLAIN, text):
        return str(text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SYSTEMD_PLAIN = r"[A-Za-z0-9_./:,@+=-]+"


def systemd_arg(value: Any) -> str:
    """One argument of an `ExecStart=` line: quoted when needed, `%` and `$` escaped
    (systemd expands specifiers and variables there)."""
    text = str(value)
    if any(c in text for c in "\n\r\x00"):
        raise HelperError("systemd: an argument must be a single line", key_of(value))
    text = text.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(_SYSTEMD_PLAIN, text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


FILTERS = {
    "base64_decode": b64decode,
    "b64decode": b64decode,
    "base64_encode": b64encode,
    "http_url": http_url,
    "json": json_value,
    "yaml": yaml_value,
    "toml": toml_value,
    "toml_key": toml_key,
    "env": env_value,
    "env_literal": env_literal,
    "json_compact": json_compact,
    "systemd_arg": systemd_arg,
    "plain": _plain,
}
