"""Whether a consumer's files are already what its templates would render (DESIGN §8, §10).

A render is a pure function of the declaration, the settings under its prefixes, and
the code that renders (Kindling's and Jinja2's versions). Each declaration's manifest
(`/var/lib/kindling/templates/<name>.files`) records a digest of those inputs and of
every file it wrote (content and mode). When every declaration of a consumer finds
its inputs unchanged and its files on disk still exactly as written, the applier's
outcome is known without the engine: nothing to write, nothing to remove, no restart.
So a boot that re-applies every setting (apply-settings), or a commit to an unrelated
key of the same prefix, imports no Jinja2 for consumers whose files are current.

Anything else renders as before: a changed setting or template, another Kindling or
Jinja2 version, an output edited, removed or re-moded, a manifest from before this
format, a declaration that sets an `owner` (its ids come from the root's passwd).
"""

from __future__ import annotations

import json
import os
import stat

from kindling.digest import digest
from kindling.templates.render import needs_engine

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

    from kindling.host import Host
    from kindling.templates.declaration import Declaration

__all__ = ["FORMAT", "content_digest", "current", "inputs_digest", "manifest_body"]

FORMAT = 2  # 1: a bare JSON list of paths (no digests: never current)


def content_digest(data: bytes) -> str:
    return digest(data)


def _view(settings: dict[str, Any], prefix: str) -> Any:
    from kindling.templates.render import lookup

    return lookup(settings, prefix)


def inputs_digest(decl: Declaration, settings: dict[str, Any]) -> str:
    """What `decl`'s output depends on: itself, its settings, the rendering code."""
    from kindling import __version__
    from kindling.registry import distribution_version

    what = [
        FORMAT, __version__, distribution_version("jinja2"),
        decl.name, decl.path, decl.source, decl.mode, decl.owner, list(decl.prefixes),
        list(decl.requires), list(decl.requires_any), decl.each,
        [[p, _view(settings, p)] for p in decl.prefixes],
    ]
    return digest(json.dumps(what, sort_keys=True, default=repr).encode())


def manifest_body(paths: list[str], inputs: str, outputs: dict[str, tuple[str, int]]) -> str:
    body = {"format": FORMAT, "files": sorted(paths), "inputs": inputs,
            "outputs": {p: [d, m] for p, (d, m) in sorted(outputs.items())}}
    return json.dumps(body, sort_keys=True) + "\n"


def _file_is(host: Host, path: str, digest: object, mode: object) -> bool:
    target = host.entry(path)
    try:
        st = os.lstat(target)
        if not stat.S_ISREG(st.st_mode) or (st.st_mode & 0o7777) != mode:
            return False
        with open(target, "rb") as fh:
            return content_digest(fh.read()) == digest
    except OSError:
        return False


def _declaration_current(host: Host, decl: Declaration, settings: dict[str, Any], manifest_dir: str) -> bool:
    text = host.read_optional(f"{manifest_dir}/{decl.name}.files")
    if text is None:  # never written anything: current exactly while it needs no render
        return not needs_engine(decl, settings)
    try:
        body = json.loads(text)
    except ValueError:
        return False
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        return False
    if body.get("inputs") != inputs_digest(decl, settings):
        return False
    outputs = body.get("outputs")
    if not isinstance(outputs, dict) or sorted(outputs) != body.get("files"):
        return False
    for path, entry in outputs.items():
        if not (isinstance(entry, list) and len(entry) == 2 and _file_is(host, path, entry[0], entry[1])):
            return False
    return True


def current(host: Host, decls: list[Declaration], settings: dict[str, Any], manifest_dir: str) -> bool:
    """True when rendering `decls` would change no file (see the module docstring)."""
    if any(decl.owner for decl in decls):
        return False
    return all(_declaration_current(host, decl, settings, manifest_dir) for decl in decls)
