"""kindling.jsonio is json on the boot path: the same values read, byte for byte the same
text written, the same refusals (as ValueError), and neither `json` nor `re` imported.

Equality with json over seeded random trees (nesting, unicode with surrogates, controls
and non-BMP characters, big ints, floats with nan/inf/-0.0/1e300, empty containers), with
each combination of the arguments the boot path uses; then the refusals; then a guard on
what importing and using it loads, in a fresh interpreter.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kindling import jsonio

REPO = Path(__file__).resolve().parents[2]

_CHARS = ["a", "Z", "0", " ", '"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
          "\x80", "é", "ß", "\u2028", "\u2029", "\ufeff", "\uffff", "€", "中", "\ud800", "\udfff",
          "\U0001f600", "\U0010ffff"]  # fmt: skip
_FLOATS = [0.0, -0.0, 1.5, -2.25, 1e300, -1e300, 1e-300, 5e-324, 1e16, 0.1, math.inf, -math.inf, math.nan]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_CHARS) for _ in range(rng.randrange(0, 8)))


def _scalar(rng: random.Random) -> Any:
    kind = rng.randrange(7)
    if kind == 0:
        return _text(rng)
    if kind == 1:
        return rng.choice([0, 1, -1, 2**31, -(2**63), 10**40, -(10**40), rng.randrange(-1000, 1000)])
    if kind == 2:
        return rng.choice([*_FLOATS, rng.uniform(-1e6, 1e6)])
    return [None, True, False, ""][kind - 3]


def _tree(rng: random.Random, depth: int) -> Any:
    if depth <= 0 or rng.random() < 0.3:
        return _scalar(rng)
    n = rng.randrange(0, 5)
    kind = rng.randrange(3)
    if kind == 0:
        return [_tree(rng, depth - 1) for _ in range(n)]
    if kind == 1:
        return tuple(_tree(rng, depth - 1) for _ in range(n))
    return {_text(rng): _tree(rng, depth - 1) for _ in range(n)}


def _trees(seed: int, count: int = 150) -> list[Any]:
    rng = random.Random(seed)
    return [_tree(rng, rng.randrange(0, 6)) for _ in range(count)]


ARGS: list[dict[str, Any]] = [
    {},
    {"sort_keys": True},
    {"separators": (",", ":")},
    {"separators": (",", ":"), "sort_keys": True},
    {"indent": 1},
    {"indent": 2},
    {"indent": 2, "sort_keys": True},
    {"indent": 0},
    {"indent": 2, "separators": (" , ", " : ")},
]


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and -0.0 told from 0.0 (as the text tells them)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("args", ARGS, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "defaults")
def test_dumps_is_json_dumps_byte_for_byte(args: dict[str, Any]) -> None:
    for tree in _trees(seed=len(str(args))):
        assert jsonio.dumps(tree, **args) == json.dumps(tree, **args)


@pytest.mark.parametrize("args", ARGS, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "defaults")
def test_loads_reads_json_output_as_json_does(args: dict[str, Any]) -> None:
    for tree in _trees(seed=7 + len(str(args))):
        text = json.dumps(tree, **args)
        assert _same(jsonio.loads(text), json.loads(text))
        assert _same(jsonio.loads(text.encode()), json.loads(text.encode()))
        padded = " \t\n\r" + text + "\n \r\t"
        assert _same(jsonio.loads(padded), json.loads(padded))


def test_non_ascii_output_and_raw_utf8_input() -> None:
    doc = {"é": "\U0001f600", "k": ["\udfff", "中"]}
    assert jsonio.loads(json.dumps(doc, ensure_ascii=False)) == doc
    assert jsonio.loads(json.dumps(doc, ensure_ascii=False).encode(errors="surrogatepass")) == doc
    assert jsonio.loads(b'"\xed\xa0\x80"') == json.loads(b'"\xed\xa0\x80"') == "\ud800"  # surrogatepass, as json


@pytest.mark.parametrize("obj", [
    {2: "a", 10: "b", -1: "c"},  # keys json coerces (and sorts as numbers)
    {2.5: "a", 0.5: "b"},
    {"b": {3: [1]}, "a": ()},
    [1, (2, [3, {"x": ()}])],
    "just text",
    -0.0,
    math.nan,
    10**100,
], ids=repr)  # fmt: skip
@pytest.mark.parametrize("args", ARGS, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "defaults")
def test_dumps_unusual_shapes(obj: Any, args: dict[str, Any]) -> None:
    assert jsonio.dumps(obj, **args) == json.dumps(obj, **args)


@pytest.mark.parametrize("indent", [None, 2])
def test_dumps_coerces_mixed_keys_as_json_does(indent: int | None) -> None:
    for obj in ({1: "a", 2.5: "b", None: "d", False: "e", "s": "f", math.inf: "g"}, {True: "c", -0.0: "z"}):
        assert jsonio.dumps(obj, indent=indent) == json.dumps(obj, indent=indent)


def test_dumps_subclasses_as_json_does() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Ordered(dict[str, Any]):
        pass

    for indent in (None, 2):
        for obj in ([Level.HIGH, True], Ordered(a=1, b=[Level.HIGH])):
            assert jsonio.dumps(obj, indent=indent) == json.dumps(obj, indent=indent)


@pytest.mark.parametrize("indent", [None, 2])
def test_dumps_refuses_what_json_refuses(indent: int | None) -> None:
    with pytest.raises(TypeError, match=r"^Object of type set is not JSON serializable$"):
        jsonio.dumps({"a": {1, 2}}, indent=indent)
    with pytest.raises(TypeError, match=r"^keys must be str, int, float, bool or None, not tuple$"):
        jsonio.dumps({(1,): 2}, indent=indent)
    with pytest.raises(TypeError):
        jsonio.dumps({1: 1, "a": 2}, indent=indent, sort_keys=True)  # json cannot order them either
    loop: list[Any] = []
    loop.append([loop])
    with pytest.raises(ValueError, match=r"^Circular reference detected$"):
        jsonio.dumps(loop, indent=indent)
    shared = [1]
    assert jsonio.dumps([shared, shared], indent=indent) == json.dumps([shared, shared], indent=indent)


def test_an_error_leaves_nothing_behind_for_the_next_call() -> None:
    doc: list[Any] = [[1]]
    with pytest.raises(TypeError):
        jsonio.dumps([doc, object()])
    assert jsonio.dumps([doc, doc]) == "[[[1]], [[1]]]"


REFUSED: list[str | bytes] = [
    "", " ", "{", "[1,", '{"a": 1', '{"a" 1}', "[1] x", "[1]]", "{} {}", "tru", "nul", "01", "1.", "-", ".5",
    "+1", "[1,]", '{"a":1,}', "{'a': 1}", '"abc', '"\\x"', '"\\u12"', '"a\nb"', '"\x00"', "nan", "inf",
    "[Infinity, -Inf]", "\ufeff{}", "\x0c[]", "\u00a0[]", "[]\u3000", "[] \x0b",
    b"\xff\xfe", b"\x80[]", b'"\xc3"', b'["\xff"]', b"[\xc0\xaf]", b"\x00\x00",
]  # fmt: skip


@pytest.mark.parametrize("text", REFUSED, ids=repr)
def test_loads_refuses_what_json_refuses(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        jsonio.loads(text)


ACCEPTED: list[str | bytes | bytearray] = [
    "NaN", "[NaN, Infinity, -Infinity]", "-0", "-0.0", "1E400", "1e-400", "123456789012345678901234567890",
    '"\\ud800"', '"\\ud83d\\ude00"', '"\\u00e9\\/"', " \t\n\r1", "true", "null", '{"a": 1, "a": 2}',
    b"\xef\xbb\xbf[1]",  # bytes with a UTF-8 BOM: json reads them (utf-8-sig), a str with one it refuses
    '[1, 2]'.encode("utf-16"), '{"a": "\u00e9"}'.encode("utf-16-le"), "[3]".encode("utf-32-be"),
    bytearray(b"[1]"),
]  # fmt: skip


@pytest.mark.parametrize("text", ACCEPTED, ids=repr)
def test_loads_accepts_what_json_accepts(text: str | bytes | bytearray) -> None:
    assert _same(jsonio.loads(text), json.loads(text))


def test_error_positions_are_jsons() -> None:
    for text in ["[1] x", "  ", "[1,", '{"a": tru}', '  "\\q"']:
        with pytest.raises(json.JSONDecodeError) as theirs:
            json.loads(text)
        with pytest.raises(json.JSONDecodeError) as ours:
            jsonio.loads(text)
        assert (ours.value.msg, ours.value.pos) == (theirs.value.msg, theirs.value.pos)


def test_loads_refuses_other_types_as_json_does() -> None:
    with pytest.raises(TypeError):
        jsonio.loads(1)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_deep_nesting_is_a_value_error(text: str) -> None:
    with pytest.raises(RecursionError):
        json.loads(text)  # json's own: what callers catching ValueError would miss
    with pytest.raises(ValueError, match="nested too deeply"):
        jsonio.loads(text)
    assert jsonio.loads("[[[]]]") == [[[]]]  # and the scanner still works after


# In a fresh interpreter without site (a venv's .pth files import re themselves):
# import the codec, read and write, and list what got imported.
_GUARD = """
import sys
sys.path.insert(0, sys.argv[1])
import kindling.jsonio as j
doc = j.loads(b' {"a": [1, 2.5, null, true, "\\\\u00e9"], "b": {}} ')
j.dumps(doc); j.dumps(doc, separators=(",", ":")); j.dumps(doc, indent=2, sort_keys=True)
print(" ".join(sorted(m for m in ("json", "json.decoder", "re", "enum", "functools") if m in sys.modules)))
"""


def test_reading_and_writing_imports_neither_json_nor_re() -> None:
    done = subprocess.run([sys.executable, "-S", "-c", _GUARD, str(REPO)], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == ""
    # and the same script sees them when they are there (the guard can fail)
    seen = subprocess.run([sys.executable, "-S", "-c", "import json\n" + _GUARD, str(REPO)], capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    assert "json" in seen.stdout.split() and "re" in seen.stdout.split()
