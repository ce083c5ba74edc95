"""Depth limits for decoded documents, checked before anything recurses (issue 16, class 1).

`json.loads`, `tomllib.loads`, `json.dumps` and Kindling's own key walkers
(`merge`, `flatten`, secret registration, the model walker) recurse once per level of
nesting: a few thousand `[` in user data, a provider's output, an identity document or
an API body would end in `RecursionError`. No real settings document is deeper than a
dozen levels, so every decoder here refuses more than `MAX_DEPTH` levels *before*
parsing (a scan of the text that skips strings and comments, as the TOML and JSON
lexers do) and every decoded tree is measured without recursion after it, since TOML
dotted keys (`a.b.c… = 1`) nest without a bracket.

The scan is one lexer for both languages: JSON has only `"…"` strings, and a TOML-only
construct (`'…'`, `#`) in JSON text is a syntax error the JSON parser meets before
any bracket the scan skipped.
"""

from __future__ import annotations

from kindling.errors import InputError

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MAX_DEPTH", "TomlError", "check_text", "check_tree", "loads_json", "loads_toml"]

MAX_DEPTH = 32
_OPEN = frozenset("[{")
_CLOSE = frozenset("]}")


def _too_deep(source: str, limit: int) -> InputError:
    return InputError(f"nested deeper than {limit} levels", source=source)


def check_text(text: str, *, source: str, limit: int = MAX_DEPTH) -> None:
    """Refuse `text` (TOML or JSON) whose brackets nest deeper than `limit`."""
    if text.count("[") + text.count("{") <= limit:
        return  # cannot be deeper than the number of opening brackets
    depth, i, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in _OPEN:
            depth += 1
            if depth > limit:
                raise _too_deep(source, limit)
        elif c in _CLOSE:
            depth = max(depth - 1, 0)
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'":
            triple = text.startswith(c * 3, i)
            quote = c * 3 if triple else c
            i += len(quote)
            while i < n:
                if c == '"' and text[i] == "\\":
                    i += 2
                    continue
                if text.startswith(quote, i):
                    break
                if not triple and text[i] == "\n":
                    break  # unterminated: the parser reports it
                i += 1
            i += len(quote)
            continue
        i += 1


def check_tree(value: Any, *, source: str, limit: int = MAX_DEPTH) -> None:
    """Refuse a decoded tree (dicts and lists) deeper than `limit`, without recursing."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise _too_deep(source, limit)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def loads_json(text: str | bytes, *, source: str, limit: int = MAX_DEPTH) -> Any:
    """`json.loads` with the depth limit; `ValueError` for bad JSON stays the caller's."""
    import json

    check_text(text.decode("utf-8", "replace") if isinstance(text, bytes) else text,
               source=source, limit=limit)
    try:
        doc = json.loads(text)
    except RecursionError:
        raise _too_deep(source, limit) from None
    check_tree(doc, source=source, limit=limit)
    return doc


class TomlError(ValueError):
    """Text that is not TOML: tomllib's `TOMLDecodeError`, its message unchanged (a rule
    and a position, never input text), so that a caller need not import tomllib to
    catch it (kindling/toml_fast.py: most documents never import it)."""


def loads_toml(text: str, *, source: str, limit: int = MAX_DEPTH) -> dict[str, Any]:
    """`tomllib.loads` with the depth limit; bad TOML raises `TomlError` (the caller's).

    kindling.toml_fast reads the TOML Kindling's inputs use, with tomllib's result;
    whatever it gives up on, tomllib parses (its result, or its error)."""
    from kindling import toml_fast

    check_text(text, source=source, limit=limit)
    try:
        doc = toml_fast.loads(text)
    except toml_fast.GiveUp:
        import tomllib

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TomlError(str(exc)) from exc
        except RecursionError:
            raise _too_deep(source, limit) from None
    check_tree(doc, source=source, limit=limit)
    return doc
