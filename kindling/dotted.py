"""Dotted setting keys with quoting: `settings.kernel.sysctl."net.ipv4.ip_forward"`.

Map keys such as sysctl names contain dots, so a segment holding a dot (or a quote, or
nothing) is written in double quotes, with `\\` and `"` escaped inside, as
Bottlerocket's datastore keys are. Parsing refuses what formatting never produces.
"""

from __future__ import annotations

from kindling.errors import InputError

__all__ = ["format_key", "parse_key", "quote_segment"]

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/*:@+")


def quote_segment(segment: str) -> str:
    """A segment as it appears in a dotted key, quoted only when it must be."""
    if segment and _PLAIN.issuperset(segment):  # in C: a first boot formats ~1,200 segments
        return segment
    return '"' + segment.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_key(segments: list[str] | tuple[str, ...]) -> str:
    """Join segments into one dotted key."""
    return ".".join(quote_segment(s) for s in segments)


def parse_key(key: str, *, source: str = "key") -> list[str]:
    """Split a dotted key into segments; raises `InputError` naming the rule broken."""
    if '"' not in key:  # the common case, a boot parses ~1,600 keys: plain segments only
        fast = key.split(".")
        if all(fast):
            return fast
    segments: list[str] = []
    i, n = 0, len(key)
    if not key:
        raise InputError("empty key", source=source)
    while True:
        if i < n and key[i] == '"':
            i += 1
            buf: list[str] = []
            while i < n and key[i] != '"':
                if key[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(key[i])
                i += 1
            if i >= n:
                raise InputError("unterminated quote in key", source=source)
            i += 1
            segments.append("".join(buf))
        else:
            start = i
            while i < n and key[i] != ".":
                if key[i] == '"':
                    raise InputError("quote inside an unquoted key segment", source=source)
                i += 1
            if i == start:
                raise InputError("empty segment in key", source=source)
            segments.append(key[start:i])
        if i == n:
            return segments
        if key[i] != ".":
            raise InputError("expected '.' after a quoted key segment", source=source)
        i += 1
        if i == n:
            raise InputError("key ends with '.'", source=source)
