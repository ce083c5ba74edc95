"""Dotted keys with quoting, and the per-leaf merge (DESIGN §5)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kindling.dotted import format_key, parse_key
from kindling.errors import InputError
from kindling.merge import flatten, merge, unflatten


def test_quoted_segments() -> None:
    assert parse_key('settings.kernel.sysctl."net.ipv4.ip_forward"') == [
        "settings", "kernel", "sysctl", "net.ipv4.ip_forward"]
    assert format_key(["settings", "kernel", "sysctl", "net.ipv4.ip_forward"]) == \
        'settings.kernel.sysctl."net.ipv4.ip_forward"'
    assert format_key(["a", 'q"uote']) == 'a."q\\"uote"'


@pytest.mark.parametrize("bad", ["", "a..b", "a.", ".a", 'a."open', 'a"b', '"x"y'])
def test_malformed_keys(bad: str) -> None:
    with pytest.raises(InputError):
        parse_key(bad)


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5))
def test_key_round_trip(segments: list[str]) -> None:
    assert parse_key(format_key(segments)) == segments


def test_maps_merge_lists_replace() -> None:
    base = {"kernel": {"sysctl": {"a": "1", "b": "2"}}, "dns": {"name-servers": ["1.1.1.1", "8.8.8.8"]}}
    patch = {"kernel": {"sysctl": {"b": "3"}}, "dns": {"name-servers": ["9.9.9.9"]}}
    assert merge(base, patch) == {
        "kernel": {"sysctl": {"a": "1", "b": "3"}}, "dns": {"name-servers": ["9.9.9.9"]}}
    assert base["kernel"]["sysctl"]["b"] == "2"  # inputs untouched


# As in the settings model, a key is always a table or always a leaf: keys "a"/"b"
# hold tables, "x"/"y" hold leaves. Under that rule (which validation guarantees),
# merge is associative; a leaf replacing a table is not, and the model forbids it.
leaves = st.integers() | st.lists(st.integers(), max_size=2)
trees = st.recursive(
    st.dictionaries(st.sampled_from("xy"), leaves, max_size=2),
    lambda c: st.builds(lambda tables, plain: {**tables, **plain},
                        st.dictionaries(st.sampled_from("ab"), c, max_size=2),
                        st.dictionaries(st.sampled_from("xy"), leaves, max_size=2)),
    max_leaves=8,
)


@given(trees, trees, trees)
def test_merge_is_associative(a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]) -> None:
    assert merge(merge(a, b), c) == merge(a, merge(b, c))


@given(trees)
def test_flatten_round_trip(a: dict[str, Any]) -> None:
    def prune(x: Any) -> Any:
        if isinstance(x, dict):
            kept = {k: prune(v) for k, v in x.items()}
            return {k: v for k, v in kept.items() if v != {}}
        return x

    assert unflatten(list(flatten(a))) == prune(a)
