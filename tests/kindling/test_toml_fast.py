"""kindling.toml_fast against tomllib (issue 20): on every text it accepts, the same tree
(types, values, key order); on the rest it gives up, and it never accepts a text tomllib
refuses. Checked on every TOML file in the repository and the conformance fixtures, the
demo's inputs, and seeded random documents built from the grammar it reads, whole and
broken (truncated, duplicated, mutated with control characters, surrogates, stray
brackets, quotes and escapes)."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path
from typing import Any

import pytest

from kindling import toml_fast
from kindling.errors import InputError
from kindling.nesting import TomlError, loads_toml
from kindling.user_data import parse_settings_toml
from tests.conftest import conformance_dir

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "root"

_MISSING = object()


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types throughout, dict keys in the same order (True == 1 in
    Python, and {"a": 1, "b": 2} == {"b": 2, "a": 1}: neither is enough here)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif x != y:
            return False
    return True


def verdict(text: str) -> str:
    """'accepted' (fast == tomllib), 'gave-up'; fails on 'fast accepted, tomllib refused'
    or a different tree."""
    try:
        want: Any = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        want = _MISSING
    try:
        got = toml_fast.loads(text)
    except toml_fast.GiveUp:
        return "gave-up"
    assert want is not _MISSING, f"fast accepted a text tomllib refuses: {text!r}"
    assert same(got, want), f"fast {got!r} != tomllib {want!r} for {text!r}"
    return "accepted"


def toml_files() -> list[Path]:
    roots = [REPO]
    found = conformance_dir()
    if found is not None:
        roots.append(found)
    skip = {".venv", "build", ".git", "node_modules"}
    return sorted(p for root in roots for p in root.rglob("*.toml") if not skip & set(p.relative_to(root).parts))


def test_every_toml_file_here_and_in_the_conformance_fixtures() -> None:
    seen: dict[str, int] = {"accepted": 0, "gave-up": 0}
    for path in toml_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        texts = [text]
        if "{{version}}" in text:  # netdog's fixtures are templates of the version
            texts = [text.replace("{{version}}", v) for v in ("1", "2", "3")]
        for t in texts:
            seen[verdict(t)] += 1
    assert seen["accepted"] >= 50, seen  # the comparison ran on real documents


@pytest.mark.parametrize("name", ["etc/kindling/user-data-defaults.toml", "var/lib/kindling/user-data.toml",
                                  "var/lib/kindling/net.toml"])  # fmt: skip
def test_the_demo_inputs_need_no_tomllib(name: str) -> None:
    """A first boot of the demo parses these: the reader must know all of them."""
    assert verdict((DEMO / name).read_text()) == "accepted"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a = 1\nb = "x"\n', {"a": 1, "b": "x"}),
        ("a = -1_000\nb = +0\nc = 0\nd = true\ne = false", {"a": -1000, "b": 0, "c": 0, "d": True, "e": False}),
        ('"a b".c = 1\n\'d.e\' = 2\n"" = 3', {"a b": {"c": 1}, "d.e": 2, "": 3}),
        ("[a . b]\nc = 1\n[a]\nd = 2", {"a": {"b": {"c": 1}, "d": 2}}),
        ("[[x]]\na = 1\n[x.y]\nb = 2\n[[x]]\n[[x.z]]\nc = 3", {"x": [{"a": 1, "y": {"b": 2}}, {"z": [{"c": 3}]}]}),
        ("a = [ 1, # one\n  [2, 'x'],\n  {b = 1, c.d = 2},\n]", {"a": [1, [2, "x"], {"b": 1, "c": {"d": 2}}]}),
        ('s = "\\b\\t\\n\\f\\r\\"\\\\\\u00e9\\U0001F600"', {"s": "\b\t\n\f\r\"\\\u00e9\U0001f600"}),
        ("a.b = 1\na.c = 2\n", {"a": {"b": 1, "c": 2}}),
        ("k = 'caf\u00e9 \t tab'", {"k": "caf\u00e9 \t tab"}),
        ("a = {}\nb = []\n# end", {"a": {}, "b": []}),
        ("a = 1\r\nb = 2\r\n", {"a": 1, "b": 2}),
    ],
)
def test_what_it_reads(text: str, expected: dict[str, Any]) -> None:
    assert same(toml_fast.loads(text), expected)
    assert verdict(text) == "accepted"


@pytest.mark.parametrize(
    "text",
    [
        "a = 1.5", "a = 1e3", "a = inf", "a = nan", "a = 0x1f", "a = 0o7", "a = 0b1", "a = 01",
        "a = 1979-05-27", "a = 07:32:00", 'a = """x"""', "a = '''x'''",
        "a = 1\na = 2", "[a]\n[a]", "[a]\nb = 1\n[a.b]", "a.b = 1\n[a]", "a.b = 1\n[a.b.c]",
        "[a.b]\n[a]\nb.c = 1", "x = [1]\n[[x]]", "[[x]]\n[x]", "a = {b = 1}\na.c = 2",
        "a = {b = 1, b = 2}", "a = {b.c = 1, b = 2}", "a = {b = 1,}", "a = {b = 1\n}",
        "a = 1 b = 2", "a = \"\x01\"", "# \x7f", "a = '\r'", "a = \"\ud800\"", "a = 1\x0c",
        "\ufeffa = 1", "a = \"\\e\"", "a = \"\\x41\"", "a = \"\\ud800\"", "a = \"\\u12\"",
        "a =", "[a", "[[a]", "a = [1,,2]", "a = [1 2]", "a = \"x", "a = 'x", "a\u00a0= 1",
        "a = truex", "a = 1__0", "a = 1_", "a = _1", "a = +", "a = 1\u2028",
    ],
)
def test_what_it_gives_up_on(text: str) -> None:
    with pytest.raises(toml_fast.GiveUp):
        toml_fast.loads(text)
    verdict(text)


# --- seeded random documents -------------------------------------------------------------

_BARE = "abcxyzABZ019-_"
_CHARS = ["a", "Z", "0", " ", "\t", "é", "ß", "中", "\U0001f600", "-", "_", ".", "=", "#", "[", "]", "{", "}", ","]
_ESCAPES = ["\\b", "\\t", "\\n", "\\f", "\\r", '\\"', "\\\\", "\\u00e9", "\\u4e2d", "\\U0001F600", "\\u0000"]


def _basic(rng: random.Random) -> str:
    parts = [rng.choice(_ESCAPES) if rng.random() < 0.3 else rng.choice(_CHARS) for _ in range(rng.randrange(6))]
    return '"' + "".join(parts) + '"'


def _literal(rng: random.Random) -> str:
    return "'" + "".join(rng.choice([*_CHARS, '"', "\\"]) for _ in range(rng.randrange(6))) + "'"


def _key_part(rng: random.Random, names: list[str]) -> str:
    r = rng.random()
    if r < 0.5:
        return rng.choice(names)  # few names: paths meet (redefinitions, duplicates)
    if r < 0.7:
        return "".join(rng.choice(_BARE) for _ in range(rng.randrange(1, 5)))
    return _basic(rng) if r < 0.85 else _literal(rng)


def _key(rng: random.Random, names: list[str]) -> str:
    sep = rng.choice([".", " . ", ".\t"]) if rng.random() < 0.2 else "."
    return sep.join(_key_part(rng, names) for _ in range(rng.choice([1, 1, 1, 2, 3])))


def _int(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return rng.choice(["0", "+0", "-0"])
    digits = str(rng.randrange(1, 10**rng.randrange(1, 20)))
    if rng.random() < 0.3 and len(digits) > 2:
        digits = digits[0] + "_" + digits[1:]
    return rng.choice(["", "", "+", "-"]) + digits


def _ws(rng: random.Random) -> str:
    return rng.choice(["", "", " ", "  ", "\t"])


def _value(rng: random.Random, names: list[str], depth: int = 0) -> str:
    r = rng.random()
    if depth < 4 and r < 0.15:
        items = [_value(rng, names, depth + 1) for _ in range(rng.randrange(4))]
        sep = rng.choice([", ", ",", " ,\n  ", ", # note\n"])
        tail = rng.choice(["", ",", ",\n", "\n# end\n"]) if items else rng.choice(["", "\n", " # c\n"])
        return "[" + _ws(rng) + sep.join(items) + tail + "]"
    if depth < 4 and r < 0.25:
        pairs = [f"{_key(rng, names)}{_ws(rng)}={_ws(rng)}{_value(rng, names, depth + 1)}"
                 for _ in range(rng.randrange(3))]
        return "{" + _ws(rng) + ("," + _ws(rng)).join(pairs) + _ws(rng) + "}"
    if r < 0.45:
        return _int(rng)
    if r < 0.55:
        return rng.choice(["true", "false"])
    if r < 0.6:
        return rng.choice(["1.5", "1e3", "0x1F", "1979-05-27", '"""m"""', "inf"])  # out of its grammar
    return _basic(rng) if r < 0.85 else _literal(rng)


def _document(rng: random.Random) -> str:
    names = ["a", "b", "settings", "net", '"a"', "'b'"]
    lines = []
    for _ in range(rng.randrange(1, 14)):
        r = rng.random()
        if r < 0.15:
            lines.append(f"[{_ws(rng)}{_key(rng, names)}{_ws(rng)}]{_ws(rng)}")
        elif r < 0.22:
            lines.append(f"[[{_ws(rng)}{_key(rng, names)}{_ws(rng)}]]")
        elif r < 0.3:
            lines.append(rng.choice(["", "# a comment", "  # é 中 \t x", "\t"]))
        else:
            comment = rng.choice(["", "", " # why", "# x=1"])
            lines.append(f"{_ws(rng)}{_key(rng, names)}{_ws(rng)}={_ws(rng)}{_value(rng, names)}{_ws(rng)}{comment}")
    return rng.choice(["\n", "\n", "\r\n"]).join(lines) + rng.choice(["", "\n"])


_NOISE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\r", "\x1f", "\x7f", "\ud800", "\udfff", "\u2028", "\u00a0",
          "\ufeff", '"', "'", "\\", "\\u", "\\U0011FFFF", "\\ud800", "=", "[", "]", "[[", "]]", "{", "}", ",", ".",
          "#", "\n", " ", "\t", "x", "0", "_", "-", "+", ":", "e", ".5"]  # fmt: skip


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randrange(1, 3)):
        r = rng.random()
        i = rng.randrange(len(text) + 1)
        if r < 0.25:
            text = text[:i]  # truncated
        elif r < 0.6:
            text = text[:i] + rng.choice(_NOISE) + text[i:]
        elif r < 0.8:
            text = text[:i] + text[i + 1 :]
        else:
            lines = text.split("\n")
            j = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[j])  # a duplicate key or header
            text = "\n".join(lines)
    return text


def test_seeded_random_documents() -> None:
    rng = random.Random(20)
    seen = {"accepted": 0, "gave-up": 0}
    for _ in range(6000):
        seen[verdict(_document(rng))] += 1
    assert seen["accepted"] > 1500, seen  # most of the grammar's documents are read here


def test_seeded_broken_documents() -> None:
    rng = random.Random(21)
    seen = {"accepted": 0, "gave-up": 0}
    refused = 0
    for _ in range(6000):
        text = _mutate(rng, _document(rng))
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            refused += 1
        seen[verdict(text)] += 1
    assert refused > 2000 and seen["accepted"] > 500, (refused, seen)


def test_deep_nesting_gives_up_before_python_recursion_does() -> None:
    with pytest.raises(toml_fast.GiveUp):
        toml_fast.loads("a = " + "[" * 5000 + "]" * 5000)


# --- the Kindling side: kindling.nesting.loads_toml ------------------------------------


@pytest.mark.parametrize("text", ["a = ", "[settings\nmotd = 1", "a = 1\na = 2", 'a = "\x01"', "a = 1.5.2"])
def test_errors_are_tomllib_s_message_unchanged(text: str) -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as want:
        tomllib.loads(text)
    with pytest.raises(TomlError) as got:
        loads_toml(text, source="t")
    assert str(got.value) == str(want.value)
    with pytest.raises(InputError, match=r"^u: invalid TOML: ") as user:
        parse_settings_toml(text, source="u")
    assert str(user.value) == f"u: invalid TOML: {want.value}"


def test_what_it_gives_up_on_tomllib_still_reads() -> None:
    text = '[settings]\nratio = 1.5\nwhen = 1979-05-27\nmotd = """two\nlines"""\n'
    assert same(loads_toml(text, source="t"), tomllib.loads(text))


def test_the_depth_limit_is_unchanged() -> None:
    for text in ("a = " + "[" * 40 + "]" * 40, "a" + ".a" * 40 + " = 1"):
        with pytest.raises(InputError, match="nested deeper than 32 levels"):
            loads_toml(text, source="t")
