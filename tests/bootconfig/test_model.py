"""`BootConfig` construction: validation, canonical order, rendering shapes."""

from __future__ import annotations

import pytest

from kindling.bootconfig import (
    BootConfig,
    BootconfigError,
    parse_bootconfig,
    render_bootconfig,
    render_compact,
)


def test_construction_orders_keys_as_the_kernel_tree_does() -> None:
    cfg = BootConfig({"a.b": ["1"], "c": [], "a.d": ["2"], "a": ["0"]})
    assert list(cfg) == ["a", "a.b", "a.d", "c"]
    assert parse_bootconfig(render_bootconfig(cfg)) == cfg
    assert list(parse_bootconfig(render_bootconfig(cfg))) == list(cfg)


def test_valueless_parent_entry_is_dropped() -> None:
    assert list(BootConfig({"a": [], "a.b": ["1"]})) == ["a.b"]


def test_render_canonical_text() -> None:
    cfg = BootConfig({"kernel.console": ["ttyS1,115200n8", "tty0"], "init.splash": []})
    assert render_bootconfig(cfg) == 'kernel.console = "ttyS1,115200n8", "tty0"\ninit.splash\n'


def test_render_compact_of_a_constructed_config() -> None:
    cfg = BootConfig({"k.a": ["1"], "k.b": ["x'y"], "solo.chain.leaf": []})
    assert render_compact(cfg) == 'k {\n\ta = "1";\n\tb = "x\'y";\n}\nsolo.chain.leaf;\n'


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"bad key": ["x"]}, "invalid key"),
        ({"a..b": ["x"]}, "invalid key"),
        ({"": ["x"]}, "invalid key"),
        ({"k": ["both ' and \""]}, "both ' and"),
        ({"k": ["tab\tok", "nul\0"]}, "non-printable"),
        ({"k": "not-a-list"}, "list of strings"),
        ({"k": [1]}, "must be strings"),
        ({".".join("k" * 17): []}, "deeper than 16"),
        ({"k" * 256: []}, "longer than 255"),
    ],
)
def test_bad_entries_are_refused_naming_the_key(entries: dict[str, object], message: str) -> None:
    with pytest.raises(BootconfigError, match=message):
        BootConfig(entries, source="settings")  # type: ignore[arg-type]
