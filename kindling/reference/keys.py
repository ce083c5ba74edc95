"""Each settings key described from the model alone: type, rule, default, owners,
sensitivity, an example (DESIGN §6, §10).

What `kindling settings describe KEY` prints and `docs/settings.md` lists. The rule
and example of a type sit beside its checker (`types.described`); the owners are the
model's (`settings.owners`), said as the commit reports say them ("applied by sysctl",
"read by cfsignal at boot", "stored for kubelet"). A key may be asked for as written
in user data or by apiclient: `kernel.sysctl."vm.swappiness"`, `settings.motd`, the
pattern `kernel.sysctl.*`, or a prefix (`ntp`), which answers for every key below it.
"""

from __future__ import annotations

from typing import Any

from kindling.dotted import format_key, parse_key
from kindling.errors import InputError
from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, MapOf, Node, Owners, Struct
from kindling.settings.owners import describe_owner, model_keys

__all__ = ["KeyDoc", "all_keys", "describe"]

_KINDS = {
    "string": "string",
    "boolean": "boolean",
    "integer": "integer",
    "integer-or-digits": "integer",
    "string-or-json": "string, or a list of strings",
}


class KeyDoc:
    """One key of the model, described."""

    __slots__ = ("default", "doc", "example", "key", "owners", "rule", "sensitive", "type")

    def __init__(self, key: str, node: Leaf | ListOf, owners: Owners, doc: str, example: str) -> None:
        self.key = key
        self.doc = doc
        self.owners = owners
        self.type = type_of(node)
        self.rule = rule_of(node)
        self.default = node.default if isinstance(node, Leaf) and node.default else "unset"
        self.sensitive = sensitive_fields(node)
        self.example = example

    def effects(self) -> list[str]:
        return [describe_owner(o) for o in self.owners]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "description": self.doc, "type": self.type, "rule": self.rule,
            "default": self.default, "owners": list(self.owners), "effects": self.effects(),
            "sensitive": bool(self.sensitive), "example": self.example,
        }

    def text(self) -> str:
        sensitive = "yes: never logged or echoed" if self.sensitive else "no"
        if self.sensitive and self.sensitive != ["value"]:
            sensitive += f" ({', '.join(self.sensitive)})"
        lines = [
            self.key,
            f"  {self.doc}",
            f"  type:      {self.type}",
            f"  rule:      {self.rule}",
            f"  default:   {self.default}",
            f"  owner:     {'; '.join(self.effects())}",
            f"  sensitive: {sensitive}",
            *(["  example:", *(f"    {line}" for line in self.example.splitlines())] if self.example
              else ["  example:   none (give your own value)"]),
        ]
        return "\n".join(lines) + "\n"


def _leaf_type(leaf: Leaf) -> str:
    if leaf.kind == "json":
        example = _example_value(leaf)
        return "table (JSON)" if isinstance(example, dict) else "list (JSON)"
    return _KINDS.get(leaf.kind, leaf.kind)


def type_of(node: Node) -> str:
    if isinstance(node, Leaf):
        return _leaf_type(node)
    if isinstance(node, ListOf):
        item = node.item
        if isinstance(item, Struct):
            return "list of tables"
        return f"list of {type_of(item)}s" if isinstance(item, Leaf) else "list"
    if isinstance(node, MapOf):
        return "table"
    return "table"


def _leaf_rule(leaf: Leaf) -> str:
    described = t.description(leaf.check)
    return described.rule if described is not None else "checked by the model"


def rule_of(node: Node) -> str:
    if isinstance(node, Leaf):
        return _leaf_rule(node)
    if isinstance(node, ListOf):
        item = node.item
        limit = f"at most {node.max_items} items"
        if isinstance(item, Struct):
            fields = "; ".join(f"{name}: {rule_of(child)}" for name, child in item.fields.items())
            return f"{limit}, each a table of {fields}"
        return f"{limit}, each {rule_of(item)}"
    if isinstance(node, MapOf):
        return f"keys: {_key_rule(node)}"
    return "a table"


def sensitive_fields(node: Node) -> list[str]:
    """["value"] for a sensitive leaf; the sensitive fields of a list of tables."""
    if isinstance(node, Leaf):
        return ["value"] if node.sensitive else []
    if isinstance(node, ListOf) and isinstance(node.item, Struct):
        return [n for n, c in node.item.fields.items() if isinstance(c, Leaf) and c.sensitive]
    if isinstance(node, ListOf) and isinstance(node.item, Leaf) and node.item.sensitive:
        return ["value"]
    return []


def _key_rule(node: MapOf) -> str:
    described = t.description(node.key)
    return described.rule if described is not None else node.key_rule


def _example_value(node: Node) -> Any:
    if isinstance(node, Leaf):
        if node.example is not None:
            return node.example
        described = t.description(node.check)
        return described.example if described is not None else None
    if isinstance(node, ListOf):
        item = _example_value(node.item)
        return None if item is None else [item]
    if isinstance(node, Struct):
        out = {k: _example_value(v) for k, v in node.fields.items()}
        return {k: v for k, v in out.items() if v is not None}
    value = _example_value(node.value)
    return None if value is None else {_map_key_example(node): value}


def _map_key_example(node: MapOf) -> str:
    described = t.description(node.key)
    return str(described.example) if described is not None else "name"


# --- TOML rendering of one example (a few value kinds: what the model's examples are)


def _toml_key(segment: str) -> str:
    if segment and all(c.isascii() and (c.isalnum() or c in "-_") for c in segment):
        return segment
    return _toml_value(segment)


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def example_toml(path: tuple[str, ...], node: Leaf | ListOf) -> str:
    """User data that sets the key at `path` (concrete segments below `settings`), or
    an empty string when the type has no example worth showing (a certificate bundle)."""
    value = _example_value(node)
    if value is None:
        return ""
    table = ".".join(_toml_key(s) for s in ("settings", *path[:-1]))
    if isinstance(node, ListOf) and isinstance(node.item, Struct) and isinstance(value, list):
        body = "\n".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value[0].items())
        return f"[[{table}.{_toml_key(path[-1])}]]\n{body}\n"
    return f"[{table}]\n{_toml_key(path[-1])} = {_toml_value(value)}\n"


# --- looking a key up


def _concrete(pattern: tuple[str, ...], asked: list[str]) -> tuple[str, ...]:
    """The pattern with `*` filled: by the segments asked for, else the map's example key."""
    from kindling.settings.model import SETTINGS

    node: Node = SETTINGS
    out: list[str] = []
    for index, segment in enumerate(pattern):
        if isinstance(node, MapOf):
            given = asked[index] if index < len(asked) and asked[index] != "*" else None
            out.append(given or _map_key_example(node))
            node = node.value
        elif isinstance(node, Struct):
            out.append(segment)
            node = node.fields[segment]
        else:
            out.append(segment)
    return tuple(out)


def all_keys() -> list[KeyDoc]:
    """Every key of the model, in model order."""
    return [_doc(k.pattern, k.node, k.owners, k.doc, []) for k in model_keys()]


def _doc(pattern: tuple[str, ...], node: Leaf | ListOf, owners: Owners, doc: str, asked: list[str]) -> KeyDoc:
    concrete = _concrete(pattern, asked)
    named = [asked[i] if i < len(asked) and p == "*" else p for i, p in enumerate(pattern)]
    return KeyDoc(format_key(("settings", *named)), node, owners, doc, example_toml(concrete, node))


def _matches(pattern: tuple[str, ...], asked: list[str]) -> bool:
    """`asked` names this key or a prefix of it (checked against the model first)."""
    if len(asked) > len(pattern):
        return False
    return all(p in ("*", a) for a, p in zip(asked, pattern, strict=False))


def _canonical(asked: list[str]) -> list[str] | None:
    """The segments with aliases resolved, each checked by the node it falls in (a map
    key by the map's key type, `*` standing for any); None when the model has no such key.
    Inside a list the list itself is the key."""
    from kindling.settings.model import SETTINGS

    node: Node = SETTINGS
    out: list[str] = []
    for segment in asked:
        if isinstance(node, Struct):
            name = node.aliases.get(segment, segment)
            found = node.fields.get(name)
            if found is None:
                return None
            out.append(name)
            node = found
        elif isinstance(node, MapOf):
            if segment != "*":
                try:
                    node.key(segment)
                except t.Invalid:
                    return None
            out.append(segment)
            node = node.value
        elif isinstance(node, ListOf):
            return out  # `mirrors.0.registry`: the list is what a commit replaces
        else:
            return None
    return out


def describe(key: str) -> list[KeyDoc]:
    """The keys a user means by `key`; raises `InputError` naming it when there are none."""
    segments = parse_key(key.strip(), source="settings describe")
    if segments[0] == "settings":
        segments = segments[1:]
    canonical = _canonical(segments) if segments else []
    shown = format_key(("settings", *segments))
    if canonical is None:
        raise InputError(f"{shown}: not a key of the settings model")
    found = [
        _doc(k.pattern, k.node, k.owners, k.doc, canonical)
        for k in model_keys()
        if _matches(k.pattern, canonical)
    ]
    if not found:
        raise InputError(f"{shown}: not a key of the settings model")
    return found
