"""Property: whatever `BootConfig` can hold, render -> parse gives it back, in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kindling.bootconfig import (
    BootConfig,
    parse_bootconfig,
    read_footer,
    render_bootconfig,
    write_footer,
)

_word = st.text("abcxyz0129_-", min_size=1, max_size=6)
_key = st.lists(_word, min_size=1, max_size=4).map(".".join)
_chars = st.sampled_from([chr(c) for c in range(0x20, 0x7F)] + ["\t", "\n", "\v", "\f", "\r"])
_value = st.text(_chars, max_size=12).filter(lambda v: not ("'" in v and '"' in v))
_entries = st.dictionaries(_key, st.lists(_value, max_size=3), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(_entries)
def test_render_then_parse_is_identity(entries: dict[str, list[str]]) -> None:
    cfg = BootConfig(entries)
    text = render_bootconfig(cfg)
    back = parse_bootconfig(text)
    assert list(back.items()) == list(cfg.items())
    assert read_footer(write_footer(text)) == text


@settings(max_examples=100, deadline=None)
@given(_entries)
def test_valueless_keys_survive(entries: dict[str, list[str]]) -> None:
    cfg = BootConfig({**entries, "kernel.nosmt": []})
    if "kernel.nosmt" in cfg:
        assert parse_bootconfig(render_bootconfig(cfg))["kernel.nosmt"] == ()


@settings(max_examples=300, deadline=None)
@given(_entries)
def test_compact_and_proc_shapes_parse_back(entries: dict[str, list[str]]) -> None:
    from kindling.bootconfig import render_compact, render_proc

    cfg = BootConfig(entries)
    assert list(parse_bootconfig(render_compact(cfg)).items()) == list(cfg.items())
    proc = parse_bootconfig(render_proc(cfg))
    assert list(proc) == list(cfg)
    assert all(proc[k] == (cfg[k] or ("",)) for k in cfg)
