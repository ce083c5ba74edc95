"""The settings model of DESIGN §6: a typed tree, strict, with full dotted paths.

Why not msgspec or pydantic: msgspec (28 ms import) reports a bad map entry as
`$.kernel.sysctl[...]`, losing the key users need; pydantic costs 80-120 ms, most of
the `boot --plan` budget. This walker costs about a millisecond, names the exact key
(`settings.kernel.sysctl."net.ipv4.ip_forward"`) and never the value.

The tree itself is data, one module per namespace under `kindling.settings.model`,
written in the node kinds of `kindling.settings.nodes`. Every key is optional: the
model describes what may be set, and the services hold their own defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kindling.dotted import format_key
from kindling.errors import SettingsError
from kindling.settings import types as t
from kindling.settings.model import SETTINGS
from kindling.settings.nodes import Leaf, ListOf, MapOf, Node, Struct

__all__ = [
    "SETTINGS",
    "Leaf",
    "ListOf",
    "MapOf",
    "Node",
    "Struct",
    "is_sensitive",
    "node_at",
    "validate_settings",
]


def _struct(node: Struct, value: Mapping[Any, Any], path: tuple[str, ...], source: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, child in value.items():
        stored = node.aliases.get(name, name) if isinstance(name, str) else name
        sub = node.fields.get(stored) if isinstance(stored, str) else None
        if sub is None:
            raise SettingsError(format_key((*path, str(name))), "unknown key", source=source)
        if stored in out:
            raise SettingsError(
                format_key((*path, stored)), f"given twice (as {stored} and its alias {name})", source=source
            )
        out[stored] = _walk(sub, child, (*path, stored), source)
    return out


def _walk(node: Node, value: Any, path: tuple[str, ...], source: str | None) -> Any:
    key = format_key(path)
    if isinstance(node, Leaf):
        try:
            return node.check(value)
        except t.Invalid as exc:
            raise SettingsError(key, exc.rule, source=source) from None
    if isinstance(node, ListOf):
        if not isinstance(value, list):
            raise SettingsError(key, f"expected a list, got {t.kind_of(value)}", source=source)
        if len(value) > node.max_items:
            raise SettingsError(key, f"more than {node.max_items} items", source=source)
        return [_walk(node.item, v, (*path, str(i)), source) for i, v in enumerate(value)]
    if not isinstance(value, Mapping):
        raise SettingsError(key, f"expected a table, got {t.kind_of(value)}", source=source)
    if isinstance(node, Struct):
        return _struct(node, value, path, source)
    out: dict[str, Any] = {}
    for name, child in value.items():
        try:
            node.key(name)
        except t.Invalid:
            raise SettingsError(
                format_key((*path, str(name))), node.key_rule, source=source
            ) from None
        out[name] = _walk(node.value, child, (*path, name), source)
    return out


def validate_settings(tree: Any, *, source: str | None = None) -> dict[str, Any]:
    """Check a (partial) settings tree, without the outer `settings` key.

    Returns the normalised tree (aliases under their stored names); raises
    `SettingsError` with the full dotted key, e.g.
    `settings.network.hostname: not a valid Linux hostname`.
    """
    result: dict[str, Any] = _walk(SETTINGS, tree, ("settings",), source)
    return result


def node_at(segments: list[str] | tuple[str, ...]) -> Node | None:
    """The model node at a path below `settings` (None when the model has no such key).

    A list's items are reached by index (`container-registry.mirrors.0.registry`)."""
    node: Node = SETTINGS
    for segment in segments:
        if isinstance(node, Struct):
            found = node.fields.get(node.aliases.get(segment, segment))
            if found is None:
                return None
            node = found
        elif isinstance(node, MapOf):
            try:
                node.key(segment)
            except t.Invalid:
                return None
            node = node.value
        elif isinstance(node, ListOf) and segment.isdigit():
            node = node.item
        else:
            return None
    return node


def is_sensitive(segments: list[str] | tuple[str, ...]) -> bool:
    """True for keys whose values must never be logged (credentials, user data)."""
    node = node_at(segments)
    return isinstance(node, Leaf) and node.sensitive
