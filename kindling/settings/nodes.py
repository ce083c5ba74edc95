"""The four node kinds the settings model is written in, and owners (DESIGN §6, §10).

`Struct` (fixed keys, unknown rejected), `MapOf` (free keys checked by a key type),
`ListOf`, `Leaf` (a checker from `types`). Plain classes with `__slots__`, not
dataclasses: the model is built at import on every boot, and a frozen dataclass costs
its class creation plus a slower `__init__` per node (DESIGN §8).

An owner says who makes a key take effect, one of three kinds (the strings are the
contract other parts fill in):

    applier:<name>    a registered applier (`kindling.appliers`) whose prefixes cover it
    service:<name>    a Kindling boot stage that reads it at boot
    stored:<consumer> stored for a declared external consumer (kubelet, ecs-agent, …)

Owners are set on a node and inherited by everything below it, so a namespace whose
keys all go to one consumer says so once; a key that differs says so on its own line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kindling.settings import types as t

__all__ = ["OWNER_KINDS", "Leaf", "ListOf", "MapOf", "Node", "Owners", "Struct", "parse_owner"]

OWNER_KINDS = ("applier", "service", "stored")

Owners = tuple[str, ...]


def _owners(owner: str | Owners | None) -> Owners:
    if owner is None:
        return ()
    found = (owner,) if isinstance(owner, str) else tuple(owner)
    for one in found:
        parse_owner(one)
    return found


def parse_owner(owner: str) -> tuple[str, str]:
    """`applier:sysctl` → ("applier", "sysctl"); a malformed owner is a model bug."""
    kind, sep, name = owner.partition(":")
    if not sep or kind not in OWNER_KINDS or not name:
        raise ValueError(f"settings model: malformed owner {owner!r} (want applier:|service:|stored:NAME)")
    return kind, name


class Leaf:
    """A value checked by `check`; `kind` tells `apiclient set` how to read `k=v` and
    the OpenAPI document what JSON type it is: string, boolean, integer, json (a list
    or table given as JSON), string-or-json (a string, or a JSON list when it starts
    with `[`), integer-or-digits (a number, also accepted as a string of digits).
    `default` says, for the reference docs, what its owner does when it is unset (empty:
    nothing is written for it); the model itself stores no defaults. `example` replaces
    the type's example where a key deserves a better one (a sysctl's value)."""

    __slots__ = ("check", "default", "doc", "example", "kind", "owners", "sensitive")

    def __init__(
        self,
        check: t.Check,
        *,
        sensitive: bool = False,
        kind: str = "string",
        owner: str | Owners | None = None,
        doc: str = "",
        default: str = "",
        example: Any = None,
    ) -> None:
        self.check = check
        self.sensitive = sensitive
        self.kind = kind
        self.owners = _owners(owner)
        self.doc = doc
        self.default = default
        self.example = example

    def __repr__(self) -> str:
        return f"Leaf({getattr(self.check, '__name__', 'check')}, kind={self.kind!r})"


class ListOf:
    __slots__ = ("doc", "item", "max_items", "owners")

    def __init__(
        self, item: Node, *, max_items: int = 1024, owner: str | Owners | None = None, doc: str = ""
    ) -> None:
        self.item = item
        self.max_items = max_items
        self.owners = _owners(owner)
        self.doc = doc


class MapOf:
    """Free keys (sysctl names, container names…) checked by `key`, each holding `value`."""

    __slots__ = ("doc", "key", "key_rule", "owners", "value")

    def __init__(
        self,
        key: t.Check,
        value: Node,
        key_rule: str = "not a valid key",
        *,
        owner: str | Owners | None = None,
        doc: str = "",
    ) -> None:
        self.key = key
        self.value = value
        self.key_rule = key_rule
        self.owners = _owners(owner)
        self.doc = doc


class Struct:
    """Fixed keys; `fields` may be any mapping (the root loads namespaces lazily)."""

    __slots__ = ("aliases", "doc", "fields", "owners")

    def __init__(
        self,
        fields: Mapping[str, Node] | None = None,
        *,
        owner: str | Owners | None = None,
        doc: str = "",
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.fields: Mapping[str, Node] = fields if fields is not None else {}
        self.owners = _owners(owner)
        self.doc = doc
        # another accepted spelling -> the field it is stored as (Bottlerocket's serde aliases)
        self.aliases: Mapping[str, str] = aliases or {}


Node = Leaf | ListOf | MapOf | Struct


def children(node: Node) -> Iterator[tuple[str, Node]]:
    """(segment, child) below a node; a map's free key and a list's index read `*`."""
    if isinstance(node, Struct):
        yield from node.fields.items()
    elif isinstance(node, MapOf):
        yield "*", node.value
    elif isinstance(node, ListOf):
        yield "*", node.item


def is_node(value: Any) -> bool:
    return isinstance(value, Leaf | ListOf | MapOf | Struct)
