"""The kernel's parsing rules, one by one (lib/bootconfig.c, EXPECTED.md items 9-14)."""

from __future__ import annotations

import pytest

from kindling.bootconfig import (
    MAX_TEXT_BYTES,
    BootConfig,
    BootconfigError,
    parse_bootconfig,
    render_compact,
    render_proc,
)


def test_append_and_override() -> None:
    assert parse_bootconfig("key = bar, baz\nkey += qux\n")["key"] == ("bar", "baz", "qux")
    assert parse_bootconfig("key = bar, baz\nkey := qux\n")["key"] == ("qux",)


def test_override_keeps_subkeys_and_order() -> None:
    cfg = parse_bootconfig("a.x = 1\na = 2\na := 3, 4\n")
    assert list(cfg.items()) == [("a", ("3", "4")), ("a.x", ("1",))]


def test_value_with_double_quote_is_shown_single_quoted() -> None:
    cfg = parse_bootconfig("key = '\"string\"';\n")
    assert cfg["key"] == ('"string"',)
    assert render_compact(cfg) == "key = '\"string\"';\n"


def test_key_repeated_as_tree_is_merged() -> None:
    cfg = parse_bootconfig("foo\nbar\nfoo { buz }\n")
    assert list(cfg) == ["foo.buz", "bar"]


def test_unquoted_values_are_trimmed_quoted_kept() -> None:
    cfg = parse_bootconfig('foo = val     # comment\nbar = "val2 " # comment\n')
    assert cfg["foo"] == ("val",)
    assert cfg["bar"] == ("val2 ",)


def test_unquoted_value_at_end_of_file_is_trimmed() -> None:
    assert parse_bootconfig("key = 1   ")["key"] == ("1",)


def test_key_without_value_is_distinct_from_empty_string() -> None:
    cfg = parse_bootconfig('nosmt\nquiet = ""\nempty =\n')
    assert cfg["nosmt"] == ()
    assert cfg["quiet"] == ("",)
    assert cfg["empty"] == ("",)  # the kernel stores an empty value node
    assert render_proc(cfg) == 'nosmt = ""\nquiet = ""\nempty = ""\n'


def test_comment_right_after_equals_is_an_empty_value() -> None:
    assert parse_bootconfig("key = # nothing\n")["key"] == ("",)


def test_array_may_continue_on_later_lines_after_a_comma() -> None:
    cfg = parse_bootconfig('key = "a",\n  # between\n\n  b ,\n c\n')
    assert cfg["key"] == ("a", "b", "c")


def test_semicolons_and_braces_on_one_line() -> None:
    cfg = parse_bootconfig("k { a = 1; b = 2 }\nk.c\n")
    assert cfg == BootConfig({"k.a": ["1"], "k.b": ["2"], "k.c": []})


def test_quoted_values_may_span_lines_and_hold_delimiters() -> None:
    cfg = parse_bootconfig('key = "a,b;c}#d\ne"\n')
    assert cfg["key"] == ("a,b;c}#d\ne",)


def test_size_limit_is_32766_bytes() -> None:
    head, tail = 'data = "', '"\n'
    ok = head + "x" * (MAX_TEXT_BYTES - len(head) - len(tail)) + tail
    assert len(ok) == 32766
    assert parse_bootconfig(ok)["data"][0].startswith("xxx")
    with pytest.raises(BootconfigError, match="32767 bytes; the kernel accepts at most 32766"):
        parse_bootconfig(ok + " ")


def test_depth_limit_is_16_words() -> None:
    words = [f"k{i}" for i in range(16)]
    assert ".".join(words) in parse_bootconfig(".".join(words) + "\n")
    with pytest.raises(BootconfigError, match="deeper than 16"):
        parse_bootconfig(".".join([*words, "k16"]) + "\n")


def test_key_length_limit() -> None:
    assert len(parse_bootconfig("a" * 255 + "\n")) == 1
    with pytest.raises(BootconfigError, match="longer than 255"):
        parse_bootconfig("a" * 256 + "\n")
    with pytest.raises(BootconfigError, match="longer than 255"):
        parse_bootconfig("a" * 200 + "." + "b" * 55 + "\n")


def test_node_limit() -> None:
    # every key word and every array value is one of the kernel's 8192 nodes
    full = "k = " + ",".join(["v"] * 8191) + "\n"
    assert len(parse_bootconfig(full)["k"]) == 8191
    with pytest.raises(BootconfigError, match="too many nodes"):
        parse_bootconfig(full + "x\n")


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ("a = 1\nb = 'x\"\n", "no closing quote", "b: line 3:1"),
        ("a = 1\nb.c = 1\nb.c = 2\n", "value is redefined", "b.c: line 3:7"),
        ("a + 1\n", "wrong '+' operator", "line 1:3"),
        ("a : 1\n", "wrong ':' operator", "line 1:3"),
        ("a\n}\n", "unexpected closing brace", "line 2:1"),
        ("key = \"v\" x\n", "no delimiter after the quoted value", "key: line 1:11"),
        ("x = \x7f\n", "non-printable", "x: line 1:5"),
        ("x = caf\u00e9\n", "non-printable", "x: line 1:8"),
        ("a.b c\n", "invalid keyword", "line 1:3"),
        ("kernel=kernel\"'\n", "both ' and", "kernel: line 1:8"),  # could not be written back (fuzz)
        ("trailing", "no delimiter", "line 1:1"),
        ("", "empty config", "line 1:1"),
    ],
)
def test_errors_name_source_key_and_position(text: str, message: str, where: str) -> None:
    with pytest.raises(BootconfigError) as info:
        parse_bootconfig(text, source="/proc/bootconfig")
    err = str(info.value)
    assert err.startswith("/proc/bootconfig: ")
    assert message in err
    assert where in err


def test_errors_never_echo_values() -> None:
    with pytest.raises(BootconfigError) as info:
        parse_bootconfig('password = "hunter2secret\n')
    assert "hunter2" not in str(info.value)


def test_text_after_a_nul_is_ignored_like_the_kernel() -> None:
    assert parse_bootconfig("a = 1\n\0garbage {{{") == {"a": ("1",)}


def test_bytes_must_be_utf8() -> None:
    with pytest.raises(BootconfigError, match="not UTF-8"):
        parse_bootconfig(b"a = \xff\n")


def test_subtree_and_to_dict() -> None:
    cfg = parse_bootconfig('kernel.console = "ttyS0", tty0\nkernel.nosmt\ninit.x = 1\n')
    assert cfg.subtree("kernel").to_dict() == {"console": ["ttyS0", "tty0"], "nosmt": []}
    assert dict(cfg.subtree("nothing")) == {}
