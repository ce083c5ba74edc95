"""Per-leaf merge of settings trees (DESIGN §5, Bottlerocket's PATCH semantics).

Later wins per leaf key; maps merge key by key; lists are leaves and are replaced
whole. `flatten`/`unflatten` give the leaf view the datastore stores, so a PATCH and
a merge are the same operation.

The walkers recurse once per level, so each refuses a tree deeper than
`kindling.nesting.MAX_DEPTH` before it recurses (a key of a thousand segments, a
document the decoders did not see): an `InputError`, never a `RecursionError`.
"""

from __future__ import annotations

from collections.abc import Mapping

from kindling.errors import InputError
from kindling.nesting import MAX_DEPTH

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    Leaf = tuple[tuple[str, ...], Any]

__all__ = ["flatten", "merge", "unflatten"]


def _too_deep() -> InputError:
    return InputError(f"nested deeper than {MAX_DEPTH} levels", source="settings")


def merge(base: Mapping[str, Any], patch: Mapping[str, Any], _depth: int = 1) -> dict[str, Any]:
    """A new tree: `base` with `patch` laid over it; neither input is changed."""
    if _depth > MAX_DEPTH:
        raise _too_deep()
    out: dict[str, Any] = dict(base)
    for key, value in patch.items():
        old = out.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = merge(old, value, _depth + 1)
        elif isinstance(value, Mapping):
            out[key] = merge({}, value, _depth + 1)
        else:
            out[key] = value
    return out


def flatten(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[Leaf]:
    """Every leaf as (path segments, value); empty maps yield nothing."""
    if len(prefix) >= MAX_DEPTH:
        raise _too_deep()
    for key, value in tree.items():
        path = (*prefix, key)
        if isinstance(value, Mapping):
            yield from flatten(value, path)
        else:
            yield path, value


def unflatten(leaves: Iterator[Leaf] | list[Leaf]) -> dict[str, Any]:
    """Rebuild a tree from leaves; a later leaf wins over an earlier one."""
    tree: dict[str, Any] = {}
    for path, value in leaves:
        if len(path) > MAX_DEPTH:
            raise _too_deep()
        node = tree
        for segment in path[:-1]:
            child = node.get(segment)
            if not isinstance(child, dict):
                child = node[segment] = {}
            node = child
        node[path[-1]] = value
    return tree
