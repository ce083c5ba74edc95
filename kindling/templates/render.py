"""A declaration and the live settings → the files it produces (pure: no Host).

`requires` unmet → no file (the consumer is not configured yet, e.g. no api-server);
`each` → one file per entry of a map or list, its path rendered from `name`/`item`.
Output paths are checked lexically here (absolute, normalised, under /etc, /var/lib or
/run, outside Kindling's own state); `writer` checks them again after resolving links.
"""

from __future__ import annotations

import posixpath
from typing import Any

from kindling.dotted import format_key, parse_key
from kindling.record import record
from kindling.templates.declaration import Declaration
from kindling.templates.errors import SkipFile, TemplateError

__all__ = ["ALLOWED_DIRS", "FORBIDDEN_DIRS", "Rendered", "check_path", "lookup", "needs_engine", "render_declaration"]

ALLOWED_DIRS = ("/etc", "/var/lib", "/run")
FORBIDDEN_DIRS = ("/etc/kindling", "/var/lib/kindling", "/run/kindling")


@record(frozen=True)
class Rendered:
    path: str
    text: str
    mode: int
    owner: str | None


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top + "/")


def check_path(name: str, path: str) -> str:
    """Refuse output paths outside /etc, /var/lib, /run (or inside Kindling's own dirs)."""
    if not path.startswith("/") or posixpath.normpath(path) != path or "\x00" in path:
        raise TemplateError(name, "path: must be absolute and normalised (no '..', '//' or trailing '/')")
    if not any(_under(path, top) and path != top for top in ALLOWED_DIRS):
        raise TemplateError(name, "path: output files go under /etc, /var/lib or /run only")
    if any(_under(path, top) for top in FORBIDDEN_DIRS):
        raise TemplateError(name, "path: Kindling's own directories are not template outputs")
    return path


def lookup(settings: dict[str, Any], key: str) -> Any:
    node: Any = settings
    for segment in parse_key(key):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return None
    return node


def needs_engine(decl: Declaration, settings: dict[str, Any]) -> bool:
    """Whether `decl` has anything to render: `requires` met and `each` (if any) set.
    Checked before rendering, so a node without these settings never imports Jinja2."""
    if any(lookup(settings, key) is None for key in decl.requires):
        return False
    if decl.requires_any and all(lookup(settings, key) is None for key in decl.requires_any):
        return False
    return decl.each is None or lookup(settings, decl.each) is not None


def render_declaration(decl: Declaration, settings: dict[str, Any]) -> list[Rendered]:
    """Every file `decl` produces from `settings` (an empty list when `requires` is unmet)."""
    if not needs_engine(decl, settings):
        return []
    if decl.each is None:
        check_path(decl.name, decl.path)
        from kindling.templates.engine import render_template

        try:
            text = render_template(decl.name, decl.source, settings, decl.prefixes, timeout=decl.timeout)
        except SkipFile:
            return []
        return [Rendered(decl.path, text, decl.mode, decl.owner)]
    entries = lookup(settings, decl.each)
    if isinstance(entries, dict):
        pairs = list(entries.items())
    elif isinstance(entries, list):
        pairs = [(str(i), v) for i, v in enumerate(entries)]
    else:
        raise TemplateError(decl.name, f"each: settings.{decl.each} is not a table or a list")
    from kindling.templates.engine import render_template
    from kindling.templates.view import make_view

    view_root = make_view(settings, decl.prefixes)
    each_view: Any = view_root
    for segment in parse_key(decl.each):
        each_view = each_view[int(segment)] if isinstance(each_view, list) else each_view[segment]
    out: list[Rendered] = []
    seen: dict[str, str] = {}
    for name, _raw in pairs:
        item = each_view[int(name)] if isinstance(each_view, list) else each_view[name]
        extra = {"name": name, "item": item}
        where = format_key(("settings", *parse_key(decl.each), name))
        path = render_template(
            f"{decl.name} (path)", decl.path, settings, decl.prefixes, extra=extra, timeout=decl.timeout
        ).strip()
        if not path:
            continue  # the path template chose to skip this entry
        check_path(decl.name, path)
        if path in seen:
            raise TemplateError(decl.name, f"{where} and {seen[path]} render to the same file {path}")
        seen[path] = where
        try:
            text = render_template(decl.name, decl.source, settings, decl.prefixes, extra=extra, timeout=decl.timeout)
        except SkipFile:
            continue
        out.append(Rendered(path, text, decl.mode, decl.owner))
    return out
