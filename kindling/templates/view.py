"""The settings a template sees: only its declared prefixes, each value knowing its key.

Why a view and not the raw tree: a declaration lists the prefixes it reads (so
"affected services" can restart exactly its consumer), and that list is only true if
the template cannot read anything else. Levels above a prefix admit only the
branches toward it; any other read raises `OutsidePrefixes` naming the full key.
Maps, lists and strings carry their dotted key (`.key`), so a helper that refuses a
value (bad base64, not a URL) and a missing value both name the setting, never the
value itself (DESIGN §6). The view subclasses dict/list/str, so `json`, `items()`,
`join` and comparisons behave exactly as on plain values.
"""

from __future__ import annotations

from typing import Any

from kindling.dotted import format_key, parse_key, quote_segment
from kindling.templates.errors import OutsidePrefixes

__all__ = [
    "SettingList", "SettingMap", "SettingStr", "key_of", "make_view", "prefix_tree", "undefined_setting_message",
]

# A prefix tree: segment -> subtree; None means "everything below is readable".
PrefixTree = dict[str, "PrefixTree | None"]


class SettingStr(str):
    """A string setting that remembers its key."""

    key: str

    def __new__(cls, value: str, key: str) -> SettingStr:
        obj = super().__new__(cls, value)
        obj.key = key
        return obj


class SettingList(list[Any]):
    key: str


class SettingMap(dict[str, Any]):
    """A table of settings; `allowed` is None inside a prefix, else the readable branches."""

    key: str
    segments: tuple[str, ...]
    allowed: PrefixTree | None

    def _check(self, name: object) -> None:
        if self.allowed is not None and name not in self.allowed:
            raise OutsidePrefixes(format_key((*self.segments, str(name))))

    def __getitem__(self, name: str) -> Any:
        self._check(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        self._check(name)
        return dict.get(self, name, default)

    def __contains__(self, name: object) -> bool:
        self._check(name)
        return dict.__contains__(self, name)


def key_of(value: Any) -> str | None:
    """The dotted key a view value came from (None for computed values)."""
    key = getattr(value, "key", None)
    return key if isinstance(key, str) else None


def prefix_tree(prefixes: tuple[str, ...] | list[str]) -> PrefixTree:
    """Dotted prefixes (without `settings.`) as a tree; a shorter prefix wins."""
    tree: PrefixTree = {}
    for prefix in prefixes:
        node = tree
        segments = parse_key(prefix, source="prefixes")
        for i, segment in enumerate(segments):
            if segment in node and node[segment] is None:
                break
            if i == len(segments) - 1:
                node[segment] = None
                break
            child = node.setdefault(segment, {})
            assert child is not None
            node = child
    return tree


def _wrap(value: Any, segments: tuple[str, ...], allowed: PrefixTree | None) -> Any:
    key = format_key(segments)
    if isinstance(value, dict):
        out = SettingMap()
        out.key, out.segments, out.allowed = key, segments, allowed
        for name, child in value.items():
            if allowed is None:
                dict.__setitem__(out, name, _wrap(child, (*segments, name), None))
            elif name in allowed:
                dict.__setitem__(out, name, _wrap(child, (*segments, name), allowed[name]))
        return out
    if isinstance(value, list):
        items = SettingList(_wrap(v, (*segments, str(i)), None) for i, v in enumerate(value))
        items.key = key
        return items
    if isinstance(value, str):
        return SettingStr(value, key)
    return value


def make_view(settings: dict[str, Any], prefixes: tuple[str, ...] | list[str]) -> SettingMap:
    """The `settings` object of a template: the live tree cut to `prefixes`."""
    view = _wrap(settings, ("settings",), prefix_tree(prefixes))
    assert isinstance(view, SettingMap)
    return view


def undefined_setting_message(obj: object, name: object) -> str | None:
    """`settings.kubernetes.api-server is not set` when an unset key of the view was read."""
    if isinstance(obj, SettingMap) and isinstance(name, str):
        return f"{obj.key}.{quote_segment(name)} is not set"
    return None
