"""Write a consumer's rendered files through the Host, then restart the consumer.

All or nothing per consumer: every declaration of a service renders first; if one
fails, no file of that service is touched (the consumer keeps a consistent previous
configuration) and its restart commands do not run. Paths are resolved under the root
so a symlinked directory cannot carry a write outside /etc, /var/lib or /run. Files a
declaration wrote before and no longer produces (an `each` entry removed, a `requires`
key unset) are removed, and only those: the list lives in
`/var/lib/kindling/templates/<name>.files`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from kindling.host import Host
from kindling.templates.declaration import Declaration
from kindling.templates.errors import TemplateError
from kindling.templates.render import ALLOWED_DIRS, Rendered, needs_engine, render_declaration

__all__ = ["MANIFEST_DIR", "apply_service", "render_service", "restart_consumer"]

MANIFEST_DIR = "/var/lib/kindling/templates"


def _resolved_inside(host: Host, name: str, path: str) -> None:
    """The file's directory, links followed, must still be under its allowed top.

    Under a root prefix `Host.path` already resolves links inside the root; on `/` the
    kernel does, so the nearest existing directory is resolved here."""
    top = next(t for t in ALLOWED_DIRS if path.startswith(t + "/"))
    top_path = host.path(top)
    parent = host.entry(path).parent
    leaves = TemplateError(name, f"path: {path} leaves {top} through a symbolic link")
    if parent != top_path and top_path not in parent.parents:
        raise leaves
    probe = parent
    while not probe.exists() and probe != top_path:
        probe = probe.parent
    if probe.exists():
        real, allowed = os.path.realpath(probe), os.path.realpath(top_path)
        if real != allowed and not real.startswith(allowed + os.sep):
            raise leaves
    if host.entry(path).is_symlink():
        raise TemplateError(name, f"path: {path} is a symbolic link")


def render_service(
    decls: list[Declaration], settings: dict[str, Any]
) -> dict[str, list[Rendered]]:
    """declaration name -> its files; raises the first `TemplateError` (names the template)."""
    return {decl.name: render_declaration(decl, settings) for decl in decls}


def _manifest(host: Host, name: str) -> list[str]:
    """The paths the declaration wrote last time (a bare list before digests were kept)."""
    text = host.read_optional(f"{MANIFEST_DIR}/{name}.files")
    if not text:
        return []
    try:
        paths = json.loads(text)
    except ValueError:
        return []
    if isinstance(paths, dict):
        paths = paths.get("files")
    return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else []


def _owner_ids(host: Host, owner: str) -> tuple[int, int]:
    """`user[:group]` from the root's /etc/passwd and /etc/group (numeric ids allowed)."""
    user, _, group = owner.partition(":")

    def lookup(file: str, wanted: str, field: int) -> int:
        if wanted.isdigit():
            return int(wanted)
        for line in (host.read_optional(file) or "").splitlines():
            parts = line.split(":")
            if len(parts) > field and parts[0] == wanted and parts[field].isdigit():
                return int(parts[field])
        raise TemplateError("owner", f"{wanted}: no such entry in {file}")

    uid = lookup("/etc/passwd", user, 2)
    gid = lookup("/etc/group", group, 2) if group else lookup("/etc/passwd", user, 3)
    return uid, gid


def apply_service(host: Host, decls: list[Declaration], settings: dict[str, Any]) -> tuple[list[str], bool]:
    """Render, check, write; returns (what was done, whether any file changed).

    Files already as the templates would render them are known without rendering
    (`unchanged.current`): nothing is done and Jinja2 is not imported."""
    from kindling.templates.unchanged import content_digest, current, inputs_digest, manifest_body

    if current(host, decls, settings, MANIFEST_DIR):
        return [], False
    rendered = render_service(decls, settings)
    for decl in decls:
        for out in rendered[decl.name]:
            _resolved_inside(host, decl.name, out.path)
    done: list[str] = []
    changed = False
    for decl in decls:
        files = rendered[decl.name]
        for out in files:
            if host.write_file(out.path, out.text, mode=out.mode):
                done.append(f"wrote {out.path}")
                changed = True
            if out.owner:
                uid, gid = _owner_ids(host, out.owner)
                if host.chown(out.path, uid, gid):
                    changed = True
        paths = [f.path for f in files]
        for stale in _manifest(host, decl.name):
            if stale not in paths and host.remove(stale):
                done.append(f"removed {stale}")
                changed = True
        outputs = {f.path: (content_digest(f.text.encode("utf-8")), f.mode) for f in files}
        manifest = manifest_body(paths, inputs_digest(decl, settings), outputs)
        if paths or needs_engine(decl, settings) or host.exists(f"{MANIFEST_DIR}/{decl.name}.files"):
            host.makedirs(MANIFEST_DIR, 0o700)
            host.write_file(f"{MANIFEST_DIR}/{decl.name}.files", manifest, mode=0o600)
    return done, changed


def restart_consumer(host: Host, decls: list[Declaration]) -> list[str]:
    """Run each distinct restart command once, where systemd runs (`/run/systemd/system`).

    Without a running systemd (an image build, a test root) there is nothing to restart:
    the consumer reads the new files when it starts.
    """
    commands: list[tuple[str, ...]] = []
    for decl in decls:
        for cmd in decl.restart_commands:
            if cmd not in commands:
                commands.append(cmd)
    if not commands or not host.exists("/run/systemd/system"):
        return []
    for cmd in commands:
        host.run(list(cmd), timeout=120)
    return ["ran " + " ".join(cmd) for cmd in commands]
