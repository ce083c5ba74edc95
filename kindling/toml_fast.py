"""A small, strict TOML reader for the documents Kindling's inputs are (issue 20; DESIGN §8).

`import tomllib` costs ~4-6 ms of a first boot on Debian's python3: `typing` (its
NamedTuple), `string`, `datetime` and the regexes of `tomllib._re`, all for net.toml, the
user-data defaults and the user data, which use a handful of TOML's forms. This reader
knows those forms and imports nothing: comments, `[table]` and `[[array]]` headers,
bare, quoted and dotted keys, one-line basic strings with TOML's escapes, literal
strings, decimal integers, booleans, arrays and inline tables.

The rule is give up, never guess: anything else (floats, dates, multi-line strings,
hex/octal/binary integers, a duplicate key, a table declared twice, a dotted key or a
header reaching into a table made another way, control or unprintable characters,
anything unusual) raises `GiveUp`, and the caller parses the same text with `tomllib`,
whose result or error is the authoritative one. On every text this module accepts, its
result equals `tomllib.loads(text)`: the same types, the same values, the same key order
(tests/kindling/test_toml_fast.py checks it against tomllib on fixtures and seeded
random and broken documents). It never accepts a text tomllib refuses.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~2-3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GiveUp", "loads"]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_KEY_START = _BARE | frozenset("\"'")
_TOKEN_END = frozenset(" \t\n,]}#")
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_MAX_DEPTH = 64  # brackets; the caller's own limit (kindling.nesting) is lower
_MAX_INT = 40  # characters of an integer token: longer goes to tomllib (its int() limits)

# How a table was made, by id() of the dict (or list) in the tree. A table made another
# way (an inline table, an array) has no tag, and nothing may reach into it here.
_IMPLICIT = -1  # by a header, on the way to another table: `[a.b]` makes `a`
_DECLARED = -2  # by its own header (`[a]`), or an element of an array of tables
_ARRAY = -3  # an array of tables (`[[a]]`)
# a table made by a dotted key is tagged with its section's number (0, 1, …)


class GiveUp(Exception):
    """The text uses something this reader does not know, or may be invalid: ask tomllib."""


def _printable(text: str) -> None:
    """Comments and strings: no control character (tab allowed), surrogate or other
    unprintable character (those are rare in a setting; tomllib judges them)."""
    if text and not text.isprintable() and not text.replace("\t", "").isprintable():
        raise GiveUp


class _Reader:
    __slots__ = ("n", "section", "src", "tags")

    def __init__(self, src: str) -> None:
        self.src = src
        self.n = len(src)
        self.tags: dict[int, int] = {}
        self.section = 0

    def ws(self, pos: int) -> int:
        src, n = self.src, self.n
        while pos < n and src[pos] in " \t":
            pos += 1
        return pos

    def comment(self, pos: int) -> int:
        """`pos` at `#`: the position of the newline (or the end) that ends it."""
        end = self.src.find("\n", pos)
        if end < 0:
            end = self.n
        _printable(self.src[pos + 1 : end])
        return end

    def array_ws(self, pos: int) -> int:
        src, n = self.src, self.n
        while pos < n:
            c = src[pos]
            if c in " \t\n":
                pos += 1
            elif c == "#":
                pos = self.comment(pos)
            else:
                break
        return pos

    def basic(self, pos: int) -> tuple[int, str]:
        """`pos` at the opening `"` of a one-line basic string."""
        src = self.src
        if src.startswith('"""', pos):
            raise GiveUp  # multi-line
        i = pos + 1
        parts: list[str] = []
        while True:
            end = src.find('"', i)
            if end < 0:
                raise GiveUp
            esc = src.find("\\", i, end)
            if esc < 0:
                part = src[i:end]
                _printable(part)
                parts.append(part)
                return end + 1, "".join(parts)
            part = src[i:esc]
            _printable(part)
            parts.append(part)
            c = src[esc + 1 : esc + 2]
            if c in _ESCAPES:
                parts.append(_ESCAPES[c])
                i = esc + 2
            elif c in ("u", "U"):
                size = 4 if c == "u" else 8
                digits = src[esc + 2 : esc + 2 + size]
                if len(digits) != size or not _HEX.issuperset(digits):
                    raise GiveUp
                code = int(digits, 16)
                if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                    raise GiveUp  # not a Unicode scalar value
                parts.append(chr(code))
                i = esc + 2 + size
            else:
                raise GiveUp

    def literal(self, pos: int) -> tuple[int, str]:
        """`pos` at the opening `'` of a one-line literal string."""
        src = self.src
        if src.startswith("'''", pos):
            raise GiveUp  # multi-line
        end = src.find("'", pos + 1)
        if end < 0:
            raise GiveUp
        text = src[pos + 1 : end]
        _printable(text)
        return end + 1, text

    def key(self, pos: int) -> tuple[int, list[str]]:
        """A key (`a`, `"a b"`, `a.'b'.c`); `pos` after it and the blanks that follow."""
        src, n = self.src, self.n
        parts: list[str] = []
        while True:
            c = src[pos] if pos < n else ""
            if c == '"':
                pos, part = self.basic(pos)
            elif c == "'":
                pos, part = self.literal(pos)
            elif c and c in _BARE:
                start = pos
                while pos < n and src[pos] in _BARE:
                    pos += 1
                part = src[start:pos]
            else:
                raise GiveUp
            parts.append(part)
            pos = self.ws(pos)
            if pos < n and src[pos] == ".":
                pos = self.ws(pos + 1)
                continue
            return pos, parts

    def value(self, pos: int, depth: int) -> tuple[int, Any]:
        src, n = self.src, self.n
        c = src[pos] if pos < n else ""
        if c == '"':
            return self.basic(pos)
        if c == "'":
            return self.literal(pos)
        if c in ("[", "{"):
            if depth >= _MAX_DEPTH:
                raise GiveUp
            return self.array(pos, depth + 1) if c == "[" else self.inline(pos, depth + 1)
        end = pos
        while end < n and src[end] not in _TOKEN_END:
            end += 1
        token = src[pos:end]
        if token == "true":
            return end, True
        if token == "false":
            return end, False
        digits = token[1:] if token[:1] in ("+", "-") else token
        plain = digits.replace("_", "")
        if digits == "0" or (
            len(token) <= _MAX_INT
            and plain.isascii()
            and plain.isdigit()
            and digits[0] in "123456789"
            and digits[-1] != "_"
            and "__" not in digits
        ):
            return end, int(plain) if token[0] != "-" else -int(plain)
        raise GiveUp  # a float, a date, a time, hex/octal/binary, inf, nan, or nothing

    def array(self, pos: int, depth: int) -> tuple[int, list[Any]]:
        src, n = self.src, self.n
        out: list[Any] = []
        pos = self.array_ws(pos + 1)
        if pos < n and src[pos] == "]":
            return pos + 1, out
        while True:
            pos, item = self.value(pos, depth)
            out.append(item)
            pos = self.array_ws(pos)
            c = src[pos] if pos < n else ""
            if c == "]":
                return pos + 1, out
            if c != ",":
                raise GiveUp
            pos = self.array_ws(pos + 1)
            if pos < n and src[pos] == "]":
                return pos + 1, out

    def inline(self, pos: int, depth: int) -> tuple[int, dict[str, Any]]:
        src, n = self.src, self.n
        out: dict[str, Any] = {}
        dotted: set[int] = set()  # tables this inline table's dotted keys made
        pos = self.ws(pos + 1)
        if pos < n and src[pos] == "}":
            return pos + 1, out
        while True:
            pos, key = self.key(pos)
            if pos >= n or src[pos] != "=":
                raise GiveUp
            pos, item = self.value(self.ws(pos + 1), depth)
            table = out
            for part in key[:-1]:
                child = table.get(part)
                if child is None:
                    child = table[part] = {}
                    dotted.add(id(child))
                elif id(child) not in dotted:
                    raise GiveUp
                table = child
            if key[-1] in table:
                raise GiveUp
            table[key[-1]] = item
            pos = self.ws(pos)
            c = src[pos] if pos < n else ""
            if c == "}":
                return pos + 1, out
            if c != ",":
                raise GiveUp
            pos = self.ws(pos + 1)

    def header(self, root: dict[str, Any], pos: int) -> tuple[int, dict[str, Any]]:
        """`[a.b]` or `[[a.b]]` at `pos`: the table it opens."""
        src = self.src
        many = src.startswith("[[", pos)
        pos, key = self.key(self.ws(pos + (2 if many else 1)))
        if not src.startswith("]]" if many else "]", pos):
            raise GiveUp
        tags = self.tags
        table = root
        for part in key[:-1]:
            child = table.get(part)
            if child is None:
                child = table[part] = {}
                tags[id(child)] = _IMPLICIT
            else:
                tag = tags.get(id(child))
                if tag == _ARRAY:
                    child = child[-1]
                elif tag not in (_IMPLICIT, _DECLARED):
                    raise GiveUp  # a value, an inline table or a dotted key's table
            table = child
        last = key[-1]
        child = table.get(last)
        if many:
            if child is None:
                child = table[last] = []
                tags[id(child)] = _ARRAY
            elif tags.get(id(child)) != _ARRAY:
                raise GiveUp
            element: dict[str, Any] = {}
            child.append(element)
            child = element
        elif child is None:
            child = table[last] = {}
        elif tags.get(id(child)) != _IMPLICIT:
            raise GiveUp  # declared twice, or made by a dotted key, or not a table
        tags[id(child)] = _DECLARED
        self.section += 1
        return pos + (2 if many else 1), child

    def key_value(self, table: dict[str, Any], pos: int) -> int:
        src, n = self.src, self.n
        pos, key = self.key(pos)
        if pos >= n or src[pos] != "=":
            raise GiveUp
        pos, item = self.value(self.ws(pos + 1), 0)
        tags, section = self.tags, self.section
        for part in key[:-1]:
            child = table.get(part)
            if child is None:
                child = table[part] = {}
                tags[id(child)] = section
            elif tags.get(id(child)) != section:
                raise GiveUp  # only this section's dotted keys extend a dotted table
            table = child
        if key[-1] in table:
            raise GiveUp
        table[key[-1]] = item
        return pos

    def document(self) -> dict[str, Any]:
        src, n = self.src, self.n
        root: dict[str, Any] = {}
        table = root
        pos = 0
        while True:
            pos = self.ws(pos)
            if pos >= n:
                return root
            c = src[pos]
            if c == "\n":
                pos += 1
                continue
            if c in _KEY_START:
                pos = self.ws(self.key_value(table, pos))
            elif c == "[":
                pos, table = self.header(root, pos)
                pos = self.ws(pos)
            elif c != "#":
                raise GiveUp
            if pos < n and src[pos] == "#":
                pos = self.comment(pos)
            if pos >= n:
                return root
            if src[pos] != "\n":
                raise GiveUp
            pos += 1


def loads(text: str) -> dict[str, Any]:
    """`tomllib.loads(text)` for the TOML this reader knows; `GiveUp` for anything else."""
    return _Reader(text.replace("\r\n", "\n")).document()
