"""Parse the kernel's bootconfig syntax exactly as lib/bootconfig.c does.

This is a port of the kernel's `xbc_parse_tree` state machine (v6.x: value on the
key's line, arrays may continue over lines after a comma, comments between array
values, `:=` override keeping sub-keys, `+=` append, mixed value + sub-keys), so a
file Kindling accepts is one the kernel accepts and means the same thing. Limits are
the kernel's: 32766 bytes of text (XBC_DATA_MAX counts the NUL), 8192 nodes, keys
shorter than 256 bytes, 16 key words / nested braces.

One deliberate difference: an unquoted value that ends the file without a newline
keeps trailing blanks in the kernel (its scanner only trims at a delimiter); here it
is trimmed like every other unquoted value.

Pure: text in, `BootConfig` out; errors are `BootconfigError` with the source, the key
when known and the kernel's line:column (tools/bootconfig `show_xbc_error`).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from kindling.bootconfig.errors import BootconfigError
from kindling.bootconfig.model import (
    MAX_DEPTH,
    MAX_KEY_BYTES,
    MAX_NODES,
    MAX_TEXT_BYTES,
    NOT_VALUE_CHAR,
    BootConfig,
)

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["parse_bootconfig"]

_DELIM = re.compile(r"[{}=+;:\n#]")
_VALUE_END = re.compile(r"[,;\n#}]")
_SPACES = " \t\n\v\f\r"
_WORD = re.compile(r"[A-Za-z0-9_-]+")
_KEY = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


class _Key:
    __slots__ = ("keys", "name", "parent", "pos", "values")

    def __init__(self, name: str, pos: int, parent: _Key | None) -> None:
        self.name = name
        self.pos = pos
        self.parent = parent
        self.values: list[str] | None = None
        self.keys: dict[str, _Key] = {}

    def full_key(self) -> str:
        words: list[str] = []
        node: _Key | None = self
        while node is not None:
            words.append(node.name)
            node = node.parent
        return ".".join(reversed(words))


class _Parser:
    def __init__(
        self, text: str, source: str, allow_empty: bool, lines: dict[str, int] | None = None
    ) -> None:
        self.allow_empty = allow_empty
        self.lines = lines
        self.t = text
        self.n = len(text)
        self.source = source
        self.roots: dict[str, _Key] = {}
        self.last: _Key | None = None
        self.braces: list[_Key] = []
        self.nodes = 0

    # -- errors ---------------------------------------------------------------
    def fail(self, message: str, pos: int, key: _Key | None = None) -> NoReturn:
        line = self.t.count("\n", 0, pos) + 1
        column = pos - self.t.rfind("\n", 0, pos)
        raise BootconfigError(
            message,
            source=self.source,
            key=key.full_key() if key is not None else None,
            line=line,
            column=column,
        )

    def count_node(self, pos: int) -> None:
        if self.nodes >= MAX_NODES:
            self.fail(f"too many nodes (the kernel allows {MAX_NODES})", pos)
        self.nodes += 1

    # -- scanning helpers -------------------------------------------------------
    def skip_spaces(self, p: int) -> int:
        t, n = self.t, self.n
        while p < n and t[p] in _SPACES:
            p += 1
        return p

    def skip_spaces_until_newline(self, p: int) -> int:
        t, n = self.t, self.n
        while p < n and t[p] in _SPACES and t[p] != "\n":
            p += 1
        return p

    def skip_comment(self, p: int) -> int:
        end = self.t.find("\n", p)
        return self.n if end < 0 else end + 1

    # -- keys -----------------------------------------------------------------
    def parse_keys(self, start: int, end: int) -> None:
        """`a.b.c` between start and end: find or add each word below `self.last`."""
        span = self.t[start:end]
        stripped = span.lstrip(_SPACES)
        pos = start + len(span) - len(stripped)
        stripped = stripped.rstrip(_SPACES)
        if _KEY.fullmatch(stripped):  # fast path: every word valid, just walk or add
            for word in stripped.split("."):
                level = self.last.keys if self.last is not None else self.roots
                node = level.get(word)
                if node is None:
                    self.count_node(pos)
                    node = level[word] = _Key(word, pos, self.last)
                self.last = node
                pos += len(word) + 1
            return
        for word in stripped.split("."):
            self.add_key(word, pos)
            pos += len(word) + 1

    def add_key(self, word: str, pos: int) -> None:
        if not _WORD.fullmatch(word):
            self.fail("invalid keyword: words are letters, digits, '-' and '_'", pos, self.last)
        level = self.last.keys if self.last is not None else self.roots
        node = level.get(word)
        if node is None:
            self.count_node(pos)
            node = level[word] = _Key(word, pos, self.last)
        self.last = node

    def parse_key(self, start: int, end: int) -> None:
        """A key with no value (`key`, `key;`, `key # c`): add it, stay at this level."""
        if self.t[start:end].strip(_SPACES):
            prev = self.last
            self.parse_keys(start, end)
            self.last = prev

    # -- values ---------------------------------------------------------------
    def parse_value(self, v: int, key: _Key) -> tuple[str, str, int]:
        """One value from `v`: (value, delimiter, next position); '' delimiter = end."""
        t, n = self.t, self.n
        quote = t[v] if v < n and t[v] in "\"'" else ""
        if quote:
            close = t.find(quote, v + 1)
            bad = NOT_VALUE_CHAR.search(t, v + 1, n if close < 0 else close)
            if bad:
                self.fail("non-printable character in value", bad.start(), key)
            if close < 0:
                self.fail("no closing quote", n, key)
            value = t[v + 1 : close]
            p = self.skip_spaces_until_newline(close + 1)
            delim = t[p] if p < n else ""
            if delim and delim not in ",;\n#}":
                self.fail("no delimiter after the quoted value", p, key)
            if p < n:
                p += 1
        else:
            m = _VALUE_END.search(t, v)
            end = m.start() if m else n
            bad = NOT_VALUE_CHAR.search(t, v, end)
            if bad:
                self.fail("non-printable character in value", bad.start(), key)
            value = t[v:end].strip(_SPACES)
            if "'" in value and '"' in value:  # the kernel reads it, but no one can write it back
                self.fail("value holds both ' and \" (bootconfig cannot quote it)", v, key)
            delim = t[end] if m else ""
            p = end + 1 if m else n
        if delim == "#":
            p = self.skip_comment(p)
            delim = "\n"
        return value, delim, p

    def parse_array(self, p: int, key: _Key, values: list[str]) -> tuple[str, int]:
        """Values after a comma: may follow on later lines, past comments."""
        t, n = self.t, self.n
        while True:
            p = self.skip_spaces(p)
            while p < n and t[p] == "#":
                p = self.skip_spaces(self.skip_comment(p))
            self.count_node(p)
            value, delim, p = self.parse_value(p, key)
            values.append(value)
            if delim != ",":
                return delim, p

    def parse_kv(self, kstart: int, kend: int, vstart: int, op: str) -> int:
        prev = self.last
        self.parse_keys(kstart, kend)
        key = self.last
        assert key is not None
        v = self.skip_spaces_until_newline(vstart)
        if v < self.n and self.t[v] == "#":
            value, delim, nxt = "", "\n", self.skip_comment(v)
        else:
            value, delim, nxt = self.parse_value(v, key)
        if key.values is not None and op == "=":
            self.fail("value is redefined (use := to override or += to append)", v, key)
        if key.values is not None and op == ":":
            key.values = [value]
        elif key.values is not None:
            self.count_node(v)
            key.values.append(value)
        else:
            self.count_node(v)
            key.values = [value]
        if delim == ",":
            delim, nxt = self.parse_array(nxt, key, key.values)
        self.last = prev
        if delim == "}":
            self.close_brace(nxt - 1)
        return nxt

    # -- braces ---------------------------------------------------------------
    def open_brace(self, pos: int) -> None:
        if len(self.braces) >= MAX_DEPTH:
            self.fail(f"braces nested deeper than {MAX_DEPTH}", pos, self.last)
        assert self.last is not None
        self.braces.append(self.last)

    def close_brace(self, pos: int) -> None:
        if not self.braces or self.last is None or self.braces[-1] is not self.last:
            self.fail("unexpected closing brace", pos)
        self.braces.pop()
        self.last = self.braces[-1] if self.braces else None

    # -- the tree ---------------------------------------------------------------
    def run(self) -> BootConfig:
        t, n = self.t, self.n
        p = 0
        while True:
            m = _DELIM.search(t, p)
            if m is None:
                rest = self.skip_spaces(p)
                if rest < n:
                    self.fail("no delimiter after the key", rest)
                break
            q = m.start()
            c = t[q]
            if c in ":+":
                if q + 1 >= n or t[q + 1] != "=":
                    self.fail(f"wrong '{c}' operator (expected '{c}=')", q)
                p = self.parse_kv(p, q, q + 2, c)
            elif c == "=":
                p = self.parse_kv(p, q, q + 1, c)
            elif c == "{":
                self.parse_keys(p, q)
                self.open_brace(q)
                p = q + 1
            elif c == "#":
                self.parse_key(p, q)
                p = self.skip_comment(q + 1)
            elif c == "}":
                self.parse_key(p, q)
                self.close_brace(q)
                p = q + 1
            else:  # ';' or newline
                self.parse_key(p, q)
                p = q + 1
        return self.verify()

    def verify(self) -> BootConfig:
        if self.braces:
            self.fail("brace is not closed", self.braces[-1].pos, self.braces[-1])
        if self.nodes == 0 and not self.allow_empty:
            self.fail("empty config (no keys)", 0)
        out: list[tuple[str, tuple[str, ...]]] = []
        newlines = [m.start() for m in re.finditer("\n", self.t)] if self.lines is not None else []
        stack: list[tuple[_Key, int, str]] = [(k, 1, "") for k in reversed(self.roots.values())]
        while stack:
            node, depth, prefix = stack.pop()
            key = prefix + node.name
            if len(key) > MAX_KEY_BYTES:
                self.fail(f"key longer than {MAX_KEY_BYTES} bytes", node.pos)
            if depth > MAX_DEPTH:
                self.fail(f"key deeper than {MAX_DEPTH} words", node.pos)
            if self.lines is not None:
                self.lines[key] = bisect_right(newlines, node.pos) + 1
            if node.values is not None:
                out.append((key, tuple(node.values)))
            elif not node.keys:
                out.append((key, ()))
            if node.keys:
                below = key + "."
                stack.extend((k, depth + 1, below) for k in reversed(node.keys.values()))
        return BootConfig._trusted(out)


def parse_bootconfig(
    text: str | bytes,
    *,
    source: str = "bootconfig",
    allow_empty: bool = False,
    lines: dict[str, int] | None = None,
) -> BootConfig:
    """Parse bootconfig text (a file, /proc/bootconfig, an initrd footer's payload).

    Raises `BootconfigError` naming `source`, the key and line:column for anything
    the kernel would reject: over 32766 bytes, bad keywords, unclosed braces or
    quotes, a value redefined with `=`, non-printable values, too deep or too long keys.
    The kernel refuses a config without keys; `allow_empty=True` accepts one (what
    /proc/bootconfig shows when no bootconfig was loaded: nothing, or comments only).
    `lines`, when given, is filled with each full key's line (`kindling validate`).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BootconfigError("not UTF-8 text", source=source) from None
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise BootconfigError(
            f"config is {size} bytes; the kernel accepts at most {MAX_TEXT_BYTES}", source=source
        )
    nul = text.find("\0")
    if nul >= 0:
        text = text[:nul]  # the kernel (and its tool) stop at the first NUL
    return _Parser(text, source, allow_empty, lines).run()
