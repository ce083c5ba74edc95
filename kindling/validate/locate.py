"""Where a key is written: (line, column, width) of every key path of a TOML or JSON text.

`tomllib` and `json` return values without positions, so a second, tolerant pass
over the text (which has already parsed) records where each key path is first
written: table headers (`[a.b]`, and `[[a.b]]` whose n-th occurrence is path
`a.b.<n>`, as the model indexes lists), dotted keys, keys of inline tables, array
items (by index). A path not written as such (a table implied by a header) is
found through its longest written prefix. The scan never raises: on anything it
does not follow it stops and returns what it found so far.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left

from kindling.record import record

__all__ = ["Spot", "Spots", "find", "json_spots", "toml_spots"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}#\n]")
_JSON_SCALAR_END = re.compile(r"[,\]}\s]")


@record(frozen=True)
class Spot:
    line: int
    column: int  # 1-based
    width: int


Spots = dict[tuple[str, ...], Spot]


class _Stop(Exception):
    """The text has something the scan does not follow: keep what was found."""


class _Scan:
    def __init__(self, text: str) -> None:
        self.t = text
        self.n = len(text)
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.found: Spots = {}

    def spot(self, pos: int, width: int) -> Spot:
        line = bisect_left(self.newlines, pos)
        start = self.newlines[line - 1] + 1 if line else 0
        return Spot(line + 1, pos - start + 1, max(width, 1))

    def note(self, path: tuple[str, ...], pos: int, width: int) -> None:
        if path not in self.found:
            self.found[path] = self.spot(pos, width)

    def blank(self, p: int, newlines: bool = True) -> int:
        """Skip spaces (and newlines and comments when `newlines`)."""
        t, n = self.t, self.n
        while p < n:
            c = t[p]
            if c in " \t\r" or (newlines and c == "\n"):
                p += 1
            elif newlines and c == "#":
                end = t.find("\n", p)
                p = n if end < 0 else end + 1
            else:
                break
        return p

    # -- TOML -----------------------------------------------------------------------
    def string(self, p: int) -> tuple[str, int]:
        """A TOML string at `p` (any of the four kinds): (its text, the end)."""
        t = self.t
        quote = t[p]
        if t.startswith(quote * 3, p):
            end = t.find(quote * 3, p + 3)
            if quote == '"':
                while end > 0 and _escaped(t, end):
                    end = t.find('"""', end + 1)
            if end < 0:
                raise _Stop
            while t.startswith(quote, end + 3):  # up to two quotes may end the content
                end += 1
            return t[p + 3 : end], end + 3
        i = p + 1
        while i < self.n and t[i] != quote and t[i] != "\n":
            i += 2 if quote == '"' and t[i] == "\\" else 1
        if i >= self.n or t[i] != quote:
            raise _Stop
        raw = t[p : i + 1]
        if quote == "'":
            return raw[1:-1], i + 1
        try:
            return str(json.loads(raw)), i + 1
        except ValueError:
            return raw[1:-1], i + 1

    def key(self, p: int) -> tuple[list[str], list[tuple[int, int]], int]:
        """A dotted key at `p`: its segments, each one's (start, width), the end."""
        segments: list[str] = []
        spans: list[tuple[int, int]] = []
        while True:
            p = self.blank(p, newlines=False)
            if p < self.n and self.t[p] in "\"'":
                text, end = self.string(p)
            else:
                m = _BARE.match(self.t, p)
                if m is None:
                    raise _Stop
                text, end = m.group(), m.end()
            segments.append(text)
            spans.append((p, end - p))
            p = self.blank(end, newlines=False)
            if p < self.n and self.t[p] == ".":
                p += 1
                continue
            return segments, spans, p

    def toml_value(self, p: int, path: tuple[str, ...]) -> int:
        t = self.t
        p = self.blank(p, newlines=False)
        if p >= self.n:
            return p
        c = t[p]
        if c in "\"'":
            return self.string(p)[1]
        if c == "[":
            p, index = p + 1, 0
            while True:
                p = self.blank(p)
                if p < self.n and t[p] == "]":
                    return p + 1
                item = (*path, str(index))
                self.note(item, p, 1)
                p = self.blank(self.toml_value(p, item))
                if p < self.n and t[p] == ",":
                    p, index = p + 1, index + 1
                    continue
                if p < self.n and t[p] == "]":
                    return p + 1
                raise _Stop
        if c == "{":
            p += 1
            while True:
                p = self.blank(p)
                if p < self.n and t[p] == "}":
                    return p + 1
                p = self.pair(p, path)
                p = self.blank(p)
                if p < self.n and t[p] == ",":
                    p += 1
                    continue
                if p < self.n and t[p] == "}":
                    return p + 1
                raise _Stop
        m = _SCALAR_END.search(t, p)
        return m.start() if m else self.n

    def pair(self, p: int, table: tuple[str, ...]) -> int:
        """`key = value` at `p` below `table`; every prefix of the key is noted."""
        segments, spans, p = self.key(p)
        if p >= self.n or self.t[p] != "=":
            raise _Stop
        for i, (start, width) in enumerate(spans):
            self.note((*table, *segments[: i + 1]), start, width)
        return self.toml_value(p + 1, (*table, *segments))

    def toml(self) -> None:
        t = self.t
        current: tuple[str, ...] = ()
        arrays: dict[tuple[str, ...], int] = {}
        p = 0
        while True:
            p = self.blank(p)
            if p >= self.n:
                return
            if t[p] == "[":
                many = t.startswith("[[", p)
                segments, spans, p = self.key(p + (2 if many else 1))
                close = "]]" if many else "]"
                if not t.startswith(close, p):
                    raise _Stop
                p += len(close)
                out: list[str] = []
                for i, (segment, (start, width)) in enumerate(zip(segments, spans, strict=True)):
                    out.append(segment)
                    here = tuple(out)
                    self.note(here, start, width)
                    if many and i == len(segments) - 1:
                        arrays[here] = arrays.get(here, 0) + 1
                    if here in arrays:
                        out.append(str(arrays[here] - 1))
                        self.note(tuple(out), start, width)
                current = tuple(out)
                continue
            p = self.pair(p, current)

    # -- JSON -----------------------------------------------------------------------
    def json_value(self, p: int, path: tuple[str, ...]) -> int:
        t = self.t
        p = self.blank(p)
        if p >= self.n:
            raise _Stop
        c = t[p]
        if c == '"':
            return int(json.decoder.scanstring(t, p + 1)[1])  # type: ignore[attr-defined]
        if c in "[{":
            close, p, index = ("]" if c == "[" else "}"), p + 1, 0
            while True:
                p = self.blank(p)
                if p < self.n and t[p] == close:
                    return p + 1
                if c == "{":
                    if p >= self.n or t[p] != '"':
                        raise _Stop
                    name, end = json.decoder.scanstring(t, p + 1)  # type: ignore[attr-defined]
                    item = (*path, str(name))
                    self.note(item, p, end - p)
                    p = self.blank(end)
                    if p >= self.n or t[p] != ":":
                        raise _Stop
                    p += 1
                else:
                    item = (*path, str(index))
                    self.note(item, self.blank(p), 1)
                p = self.blank(self.json_value(p, item))
                index += 1
                if p < self.n and t[p] == ",":
                    p += 1
                    continue
                if p < self.n and t[p] == close:
                    return p + 1
                raise _Stop
        m = _JSON_SCALAR_END.search(t, p)
        return m.start() if m else self.n


def _escaped(text: str, pos: int) -> bool:
    """True when the character at `pos` follows an odd number of backslashes."""
    count = 0
    while pos - count - 1 >= 0 and text[pos - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _run(text: str, walk: str) -> Spots:
    scan = _Scan(text)
    try:
        if walk == "toml":
            scan.toml()
        else:
            scan.json_value(0, ())
    except (_Stop, ValueError, IndexError, RecursionError):
        pass
    return scan.found


def toml_spots(text: str) -> Spots:
    """Every key path of a TOML text and where it is first written."""
    return _run(text, "toml")


def json_spots(text: str) -> Spots:
    """Every key path (and array index) of a JSON text and where it is written."""
    return _run(text, "json")


def find(spots: Spots, path: tuple[str, ...]) -> Spot | None:
    """Where `path` is written, else its longest written prefix; None if neither."""
    for end in range(len(path), 0, -1):
        found = spots.get(path[:end])
        if found is not None:
            return found
    return None
