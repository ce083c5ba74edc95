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


# With an `errors` list (`validate_settings(..., errors=[])`, used by `kindling validate`)
# a refusal is recorded and the walk goes on with the next key; the refused part is left
# out of the result. Without one (every commit path) the first refusal raises, as before.
Errors = list[SettingsError] | None
_REFUSED: Any = object()


def _refuse(errors: Errors, key: str, rule: str, source: str | None) -> Any:
    exc = SettingsError(key, rule, source=source)
    if errors is None:
        raise exc from None
    errors.append(exc)
    return _REFUSED


def _struct(
    node: Struct, value: Mapping[Any, Any], path: tuple[str, ...], source: str | None, errors: Errors
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, child in value.items():
        stored = node.aliases.get(name, name) if isinstance(name, str) else name
        sub = node.fields.get(stored) if isinstance(stored, str) else None
        if sub is None:
            _refuse(errors, format_key((*path, str(name))), "unknown key", source)
            continue
        if stored in out:
            _refuse(errors, format_key((*path, stored)), f"given twice (as {stored} and its alias {name})", source)
            continue
        checked = _walk(sub, child, (*path, stored), source, errors)
        if checked is not _REFUSED:
            out[stored] = checked
    return out


def _walk(node: Node, value: Any, path: tuple[str, ...], source: str | None, errors: Errors) -> Any:
    # the dotted key only for a refusal: formatting every node's cost a first boot ~0.5 ms
    if isinstance(node, Leaf):
        try:
            return node.check(value)
        except t.Invalid as exc:
            return _refuse(errors, format_key(path), exc.rule, source)
    if isinstance(node, ListOf):
        if not isinstance(value, list):
            return _refuse(errors, format_key(path), f"expected a list, got {t.kind_of(value)}", source)
        if len(value) > node.max_items:
            return _refuse(errors, format_key(path), f"more than {node.max_items} items", source)
        items = [_walk(node.item, v, (*path, str(i)), source, errors) for i, v in enumerate(value)]
        return [i for i in items if i is not _REFUSED]
    if not isinstance(value, Mapping):
        return _refuse(errors, format_key(path), f"expected a table, got {t.kind_of(value)}", source)
    if isinstance(node, Struct):
        return _struct(node, value, path, source, errors)
    out: dict[str, Any] = {}
    for name, child in value.items():
        try:
            node.key(name)
        except t.Invalid:
            _refuse(errors, format_key((*path, str(name))), node.key_rule, source)
            continue
        checked = _walk(node.value, child, (*path, name), source, errors)
        if checked is not _REFUSED:
            out[name] = checked
    return out


def validate_settings(
    tree: Any, *, source: str | None = None, errors: list[SettingsError] | None = None
) -> dict[str, Any]:
    """Check a (partial) settings tree, without the outer `settings` key.

    Returns the normalised tree (aliases under their stored names); raises
    `SettingsError` with the full dotted key, e.g.
    `settings.network.hostname: not a valid Linux hostname`.
    With `errors`, every refusal is appended there instead and the result holds only
    what passed (`kindling validate` reports every error of a file at once).
    """
    result: Any = _walk(SETTINGS, tree, ("settings",), source, errors)
    return result if isinstance(result, dict) else {}


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
