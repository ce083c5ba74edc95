"""The value of a parsed bootconfig: an ordered map of full dotted keys to values.

The kernel's tree (lib/bootconfig.c) holds key nodes, each with an optional value
(a string or an array of strings) and optional sub-keys. What users and services
need is the flat view the kernel itself prints in /proc/bootconfig: one entry per
key that has a value or has nothing at all, in the kernel's traversal order (a key
with a value comes before its sub-keys). `BootConfig` is that view, with one
distinction /proc/bootconfig loses and Bottlerocket's settings keep: a key without a
value (`nosmt`) maps to `()`, a key set to the empty string (`nosmt = ""`) maps to
`("",)`. Conflating the two is how Bottlerocket's reboot loop (#3957) starts.

A `BootConfig` is always in canonical order: building one groups keys by their
tree position exactly as the kernel would after parsing the rendered text, so
`parse_bootconfig(render_bootconfig(cfg)) == cfg` with the same order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

from kindling.bootconfig.errors import BootconfigError
from kindling.record import field, record

__all__ = [
    "MAX_DEPTH",
    "MAX_KEY_BYTES",
    "MAX_NODES",
    "MAX_TEXT_BYTES",
    "BootConfig",
    "check_key",
    "check_value",
]

MAX_TEXT_BYTES = 32766  # XBC_DATA_MAX (32767) counts the terminating NUL
MAX_NODES = 8192  # XBC_NODE_MAX (include/linux/bootconfig.h, v5.16+)
MAX_KEY_BYTES = 255  # XBC_KEYLEN_MAX (256) counts the terminating NUL
MAX_DEPTH = 16  # XBC_DEPTH_MAX: key words and nested braces

_WORD = re.compile(r"[A-Za-z0-9_-]+")
# What the kernel's value scanner accepts: isprint() or isspace() in the C locale.
NOT_VALUE_CHAR = re.compile(r"[^\t\n\v\f\r\x20-\x7e]")


def check_key(key: str, *, source: str | None = None) -> tuple[str, ...]:
    """The words of a full dotted key, or `BootconfigError` naming the rule broken."""
    if not isinstance(key, str):
        raise BootconfigError("keys must be strings", source=source)
    words = tuple(key.split("."))
    if not key or not all(_WORD.fullmatch(w) for w in words):
        raise BootconfigError(
            "invalid key: words of letters, digits, '-' and '_' joined by '.'", source=source
        )
    if len(key) > MAX_KEY_BYTES:
        raise BootconfigError(f"key longer than {MAX_KEY_BYTES} bytes", source=source)
    if len(words) > MAX_DEPTH:
        raise BootconfigError(f"key deeper than {MAX_DEPTH} words", source=source)
    return words


def check_value(value: str, *, key: str, source: str | None = None) -> str:
    """A value the kernel can read back: printable ASCII or whitespace, one quote kind."""
    if not isinstance(value, str):
        raise BootconfigError("values must be strings", key=key, source=source)
    if NOT_VALUE_CHAR.search(value):
        raise BootconfigError("value has a non-printable character", key=key, source=source)
    if "'" in value and '"' in value:
        raise BootconfigError(
            "value holds both ' and \" (bootconfig cannot quote it)", key=key, source=source
        )
    return value


@record
class TreeNode:
    """One key node of the kernel's tree (used to order keys and to render braces)."""

    name: str
    parent: TreeNode | None = None
    values: tuple[str, ...] | None = None
    keys: dict[str, TreeNode] = field(default_factory=dict)

    def full_key(self) -> str:
        words = []
        node: TreeNode | None = self
        while node is not None:
            words.append(node.name)
            node = node.parent
        return ".".join(reversed(words))


def build_tree(items: Iterable[tuple[tuple[str, ...], tuple[str, ...]]]) -> dict[str, TreeNode]:
    """Root key nodes from (words, values) pairs; a later pair for a key wins."""
    roots: dict[str, TreeNode] = {}
    for words, values in items:
        level, parent = roots, None
        node: TreeNode | None = None
        for word in words:
            node = level.get(word)
            if node is None:
                node = level[word] = TreeNode(word, parent)
            level, parent = node.keys, node
        assert node is not None
        node.values = values
    return roots


def walk_leaves(roots: Mapping[str, TreeNode]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The kernel's key-value order (xbc_for_each_key_value), skipping pure parents."""
    stack: list[TreeNode] = list(roots.values())[::-1]
    while stack:
        node = stack.pop()
        if node.values:
            yield node.full_key(), node.values
        elif not node.keys:
            yield node.full_key(), ()
        stack.extend(list(node.keys.values())[::-1])


class BootConfig(Mapping[str, tuple[str, ...]]):
    """Ordered, immutable map: full dotted key -> values (`()` = key without value)."""

    __slots__ = ("_items",)

    def __init__(
        self,
        entries: Mapping[str, Sequence[str]] | Iterable[tuple[str, Sequence[str]]] = (),
        *,
        source: str | None = None,
    ) -> None:
        pairs = entries.items() if isinstance(entries, Mapping) else entries
        checked: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        for key, values in pairs:
            words = check_key(key, source=source)
            if isinstance(values, str) or not isinstance(values, Sequence):
                raise BootconfigError("values must be a list of strings", key=key, source=source)
            checked.append((words, tuple(check_value(v, key=key, source=source) for v in values)))
        self._items: dict[str, tuple[str, ...]] = dict(walk_leaves(build_tree(checked)))

    @classmethod
    def _trusted(cls, items: Iterable[tuple[str, tuple[str, ...]]]) -> BootConfig:
        """Wrap pairs already in canonical order (the parser's output)."""
        self = cls.__new__(cls)
        self._items = dict(items)
        return self

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"BootConfig({len(self._items)} keys)"

    def subtree(self, prefix: str) -> BootConfig:
        """Keys strictly below `prefix` (e.g. `kernel`), re-rooted: `kernel.a.b` -> `a.b`."""
        head = prefix + "."
        return BootConfig._trusted(
            (k[len(head) :], v) for k, v in self._items.items() if k.startswith(head)
        )

    def to_dict(self) -> dict[str, list[str]]:
        """A JSON-ready copy (`key: [values]`, `[]` for a key without value)."""
        return {k: list(v) for k, v in self._items.items()}
