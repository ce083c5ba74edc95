"""The boot path's JSON codec: `json`'s own C accelerator (`_json`), without `json`.

Why: `import json` costs ~4.9 ms of a ~21 ms later boot (Debian's python3), because
json.decoder and json.scanner import `re`, which pulls in enum, functools, collections
and more (`import re` alone ~3.9 ms). The scanner and the compact encoder here are the
C code `json.loads` and `json.dumps` run themselves, set up as json sets them up, so
the results are json's: the same values read, byte for byte the same text written.
Indented output (which CPython 3.11's C encoder does not do; json then runs pure
Python) is a small printer with json's layout, its leaves through the C encoder's
helpers. Anything unusual (another interpreter without `_json`, bytes in UTF-16/32 or
with a BOM, objects json would ask `default` about, subclasses) goes to `json` itself,
imported then: correctness first, speed for the shapes the boot writes.

Only the files of the boot path use it (the stage table, the boot state, the timeline,
the progress file, first-boot markers, the network status's read); everything else
keeps `json`: one codec for those files, the standard one elsewhere.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing imports re (~3 ms): annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["dumps", "loads"]

_WS = " \t\n\r"  # json's WHITESPACE: these four, nothing else


class _Fallback(Exception):
    """Something the printer leaves to `json` (a type or shape it does not know)."""


try:
    import _json
except ImportError:  # pragma: no cover - another interpreter: json does everything
    _json = None  # type: ignore[assignment]


def _json_loads(data: str | bytes | bytearray) -> Any:
    import json

    return json.loads(data)


def _json_dumps(obj: Any, indent: int | None, sort_keys: bool, separators: tuple[str, str] | None) -> str:
    import json

    return json.dumps(obj, indent=indent, sort_keys=sort_keys, separators=separators)


def _decode_error(msg: str, doc: str, pos: int) -> ValueError:
    """json's own error (imported only now: errors are rare)."""
    from json.decoder import JSONDecodeError

    return JSONDecodeError(msg, doc, pos)


_INF = float("inf")
_NAN = float("nan")
_CONSTANTS = {"-Infinity": -_INF, "Infinity": _INF, "NaN": _NAN}


class _Context:
    """What `_json.make_scanner` reads off json's JSONDecoder, with json.loads's defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__  # (the memo of keys is the C scanner's own)


def _no_default(o: Any) -> Any:
    """json's JSONEncoder.default: refuse what it does not know, in its words."""
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


if _json is not None:
    _scan = _json.make_scanner(_Context())  # type: ignore[arg-type]  # json's decoder is a duck too
    _enc_str = _json.encode_basestring_ascii
else:  # pragma: no cover
    _scan = None


def loads(data: str | bytes | bytearray) -> Any:
    """`json.loads(data)`: the same value, or a ValueError where json refuses the text
    (nesting too deep for the interpreter is a ValueError too, not a RecursionError)."""
    if _scan is None:  # pragma: no cover
        return _json_loads(data)
    if isinstance(data, str):
        s = data
    elif isinstance(data, (bytes, bytearray)):
        # json.detect_encoding: a BOM or a NUL among the first two bytes means another
        # encoding (or an error); JSON text starts with ASCII, so any other first byte
        # is refused either way: json says how
        if data[:1] > b"\x7f" or 0 in data[:2]:
            return _json_loads(data)
        s = data.decode("utf-8", "surrogatepass")
    else:
        return _json_loads(data)  # json's TypeError
    if s.startswith("\ufeff"):
        return _json_loads(s)  # json's "Unexpected UTF-8 BOM"
    idx = len(s) - len(s.lstrip(_WS))
    try:
        obj, end = _scan(s, idx)
    except StopIteration as err:
        raise _decode_error("Expecting value", s, err.value) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if end != len(s):
        rest = len(s) - len(s[end:].lstrip(_WS))
        if rest != len(s):
            raise _decode_error("Extra data", s, rest)
    return obj


def dumps(obj: Any, *, indent: int | None = None, sort_keys: bool = False,
          separators: tuple[str, str] | None = None) -> str:
    """`json.dumps(obj, indent=..., sort_keys=..., separators=...)`, byte for byte
    (ensure_ascii and allow_nan as json's defaults)."""
    if _json is None:  # pragma: no cover
        return _json_dumps(obj, indent, sort_keys, separators)
    if separators is not None:
        item_sep, key_sep = separators
    else:
        item_sep, key_sep = ("," if indent is not None else ", "), ": "
    if indent is None:
        if type(obj) is str:
            return _enc_str(obj)  # json.JSONEncoder.encode's shortcut
        # a new encoder each time, as json makes one: its markers (the cycle check) are
        # left half-filled by an error, so one encoder is never kept for the next call
        encoder = _json.make_encoder({}, _no_default, _enc_str, None, key_sep, item_sep,
                                     bool(sort_keys), False, True)
        return "".join(encoder(obj, 0))
    out: list[str] = []
    try:
        _pretty(obj, out, "\n", " " * indent, item_sep, key_sep, sort_keys)
    except (_Fallback, RecursionError):
        # a type json would ask `default` about, a subclass, a key json coerces or
        # refuses, a cycle: json's own result, or its own error
        return _json_dumps(obj, indent, sort_keys, separators)
    return "".join(out)


def _leaf(o: Any) -> str | None:
    """A scalar as json writes it; None for a container (or anything else)."""
    t = type(o)
    if t is str:
        return _enc_str(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if t is int:
        return int.__repr__(o)
    if t is float:
        if o != o:  # noqa: PLR0124 - NaN, as json tests it
            return "NaN"
        if o == _INF:
            return "Infinity"
        if o == -_INF:
            return "-Infinity"
        return float.__repr__(o)
    return None


def _pretty(o: Any, out: list[str], nl: str, step: str, item_sep: str, key_sep: str, sort_keys: bool) -> None:
    """json's indented layout (json/encoder.py `_make_iterencode`) of `o` into `out`,
    `nl` being the newline and indentation `o` itself starts at."""
    leaf = _leaf(o)
    if leaf is not None:
        out.append(leaf)
        return
    t = type(o)
    if t is list or t is tuple:
        if not o:
            out.append("[]")
            return
        inner = nl + step
        out.append("[" + inner)
        first = True
        for value in o:
            if first:
                first = False
            else:
                out.append(item_sep + inner)
            _pretty(value, out, inner, step, item_sep, key_sep, sort_keys)
        out.append(nl + "]")
        return
    if t is dict:
        if not o:
            out.append("{}")
            return
        inner = nl + step
        out.append("{" + inner)
        first = True
        items = o.items()
        for k, _ in items:
            if type(k) is not str:
                raise _Fallback  # json coerces int/float/bool/None keys (and sorts them so)
        for k, value in sorted(items) if sort_keys else items:
            if first:
                first = False
            else:
                out.append(item_sep + inner)
            out.append(_enc_str(k) + key_sep)
            _pretty(value, out, inner, step, item_sep, key_sep, sort_keys)
        out.append(nl + "}")
        return
    raise _Fallback
