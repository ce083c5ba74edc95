"""Sensitive settings values: find them, redact a tree, recognise them in text (DESIGN §6).

The model marks sensitive leaves (`Leaf(sensitive=True)`: `aws.credentials`,
`kubernetes.bootstrap-token`, registry passwords…); any `user-data` key counts too.
Lists are walked item by item, so `container-registry.credentials.0.password` is
found (the datastore stores a list as one leaf; `flatten` alone would stop there).

A value also leaks when a consumer file holds it decoded: `aws.credentials` is base64
of an INI file, and `/root/.aws/credentials` holds its lines. `forms` therefore gives
the value, its base64 decoding and the decoded text's lines and `key = value` values,
for a bundle or a log to search — never shorter than `MIN_FORM`, which would match noise.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

__all__ = ["MIN_FORM", "REDACTED", "forms", "redact_settings", "redact_text", "secret_values"]

REDACTED = "<redacted>"
MIN_FORM = 6


def _secret(path: tuple[str, ...]) -> bool:
    from kindling.settings import is_sensitive

    return "user-data" in path or is_sensitive(path)


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))
    else:
        yield path, node


def secret_values(tree: dict[str, Any]) -> list[str]:
    """Every sensitive string value of a settings tree (without the outer `settings`)."""
    return [v for p, v in _walk(tree, ()) if isinstance(v, str) and v and _secret(p)]


def redact_settings(tree: Any, path: tuple[str, ...] = ()) -> Any:
    """A copy of `tree` with every sensitive value replaced by `REDACTED`."""
    if isinstance(tree, dict):
        return {k: redact_settings(v, (*path, str(k))) for k, v in tree.items()}
    if isinstance(tree, list):
        return [redact_settings(v, (*path, str(i))) for i, v in enumerate(tree)]
    return REDACTED if _secret(path) and tree not in (None, "") else tree


def forms(value: str) -> set[str]:
    """The texts under which `value` may appear in a file (see the module docstring)."""
    found = {value}
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        decoded = ""
    if decoded:
        found.add(decoded.strip())
        for line in decoded.splitlines():
            found.add(line.strip())
            found.add(line.partition("=")[2].strip())
    return {f for f in found if len(f) >= MIN_FORM}


def redact_text(text: str, secrets: set[str]) -> tuple[str, int]:
    """`text` with every secret form replaced; and how many replacements were made."""
    count = 0
    for secret in sorted(secrets, key=len, reverse=True):  # a whole decoded file before its lines
        hits = text.count(secret)
        if hits:
            count += hits
            text = text.replace(secret, REDACTED)
    return text, count
