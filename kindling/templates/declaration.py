"""Template declarations: parse and validate one TOML file (pure), find them all (Host).

A declaration is Bottlerocket's `configuration-files.<name>` plus the service's
`restart-commands`, in one file per output:

    service = "kubelet"                        # the consumer; its applier's name
    path = "/etc/kubernetes/kubelet/config.json"
    mode = "0644"                              # optional (0644)
    owner = "root:root"                        # optional
    prefixes = ["kubernetes"]                  # every setting the template may read
    requires = ["kubernetes.api-server"]       # optional: not written until all are set
    requires-any = ["ecs", "kubernetes"]       # optional: not written until one is set
    each = "kubernetes.static-pods"            # optional: one file per map entry / list item,
                                               #   `path` is then a template over `name`, `item`
    template-file = "kubelet-config.json.j2"   # beside this file, or an inline `template = "…"`
    restart-commands = [["systemctl", "try-restart", "kubelet"]]   # argv lists, never a shell
    timeout = 2.0                              # optional render time limit, seconds

Shipped declarations live in `kindling/templates/shipped/`; `/etc/kindling/templates.d/`
under the root adds the user's, and one with a shipped name replaces it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from kindling.digest import digest
from kindling.dotted import parse_key
from kindling.errors import InputError, KindlingError
from kindling.host import Host
from kindling.nesting import TomlError, loads_toml
from kindling.record import record
from kindling.templates.errors import TemplateError

__all__ = ["USER_DIR", "Declaration", "load_declarations", "parse_declaration"]

USER_DIR = "/etc/kindling/templates.d"
MAX_TIMEOUT = 30.0
_NAME = r"[a-z0-9][a-z0-9_-]{0,62}"
_OWNER = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?"
_KEYS = frozenset(
    {"service", "path", "mode", "owner", "prefixes", "requires", "each", "template",
     "template-file", "restart-commands", "timeout", "description", "requires-any"}
)


@record(frozen=True)
class Declaration:
    """One configuration file (or one per `each` entry) and how it is produced."""

    name: str
    service: str
    path: str
    source: str
    prefixes: tuple[str, ...]
    origin: str  # "shipped" or the declaration's path under the root
    mode: int = 0o644
    owner: str | None = None
    requires: tuple[str, ...] = ()
    requires_any: tuple[str, ...] = ()
    each: str | None = None
    restart_commands: tuple[tuple[str, ...], ...] = ()
    timeout: float = 2.0
    description: str = ""


def _fail(name: str, message: str) -> TemplateError:
    return TemplateError(name, message)


def _str_list(name: str, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(name, f"{key}: expected a list of strings")
    return tuple(value)


def _check_key(name: str, what: str, key: str) -> str:
    try:
        segments = parse_key(key, source=what)
    except InputError as exc:
        raise _fail(name, str(exc)) from None
    if segments[0] == "settings":
        raise _fail(name, f"{what}: write keys without 'settings.' ({key})")
    from kindling.settings.schema import node_at

    if node_at(segments) is None:
        raise _fail(name, f"{what}: settings.{key} is not a key of the settings model")
    return key


def _mode(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and re.fullmatch(r"0?[0-7]{3,4}", value):
        mode = int(value, 8)
    else:
        raise _fail(name, "mode: expected an octal string such as \"0644\"")
    if mode & ~0o7777 or mode & 0o6000:
        raise _fail(name, "mode: only permission bits (no setuid/setgid)")
    return mode


def _commands(name: str, value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list) or not all(
        isinstance(cmd, list) and cmd and all(isinstance(a, str) and a for a in cmd) for cmd in value
    ):
        raise _fail(name, 'restart-commands: expected a list of argv lists, e.g. [["systemctl", "try-restart", "x"]]')
    return tuple(tuple(cmd) for cmd in value)


def parse_declaration(
    name: str, text: str, *, origin: str, read_sibling: Any = None
) -> Declaration:
    """Validate one declaration; `read_sibling(filename)` returns a `template-file`'s text."""
    if not re.fullmatch(_NAME, name):
        raise _fail(name, "the file name must be lowercase letters, digits, '-' or '_' (then .toml)")
    try:
        data = loads_toml(text, source=name)
    except TomlError as exc:
        raise _fail(name, f"not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _fail(name, f"unknown key {unknown[0]!r}")
    path = data.get("path")
    if not isinstance(path, str) or not (path.startswith("/") or ("each" in data and "{" in path)):
        raise _fail(name, "path: expected an absolute path (with each: a template of one)")
    service = data.get("service", name)
    if not isinstance(service, str) or not re.fullmatch(_NAME, service):
        raise _fail(name, "service: lowercase letters, digits, '-' or '_'")
    prefixes = tuple(_check_key(name, "prefixes", p) for p in _str_list(name, data, "prefixes"))
    if not prefixes:
        raise _fail(name, "prefixes: list the settings the template reads")
    requires = tuple(_check_key(name, "requires", k) for k in _str_list(name, data, "requires"))
    requires_any = tuple(_check_key(name, "requires-any", k) for k in _str_list(name, data, "requires-any"))
    each = data.get("each")
    if each is not None:
        if not isinstance(each, str):
            raise _fail(name, "each: expected a dotted settings key")
        _check_key(name, "each", each)
    covered = [parse_key(p) for p in prefixes]
    for key in (*requires, *requires_any, *([each] if each else [])):
        if not any(parse_key(key)[: len(c)] == c for c in covered):
            raise _fail(name, f"requires/each: settings.{key} is outside the declared prefixes")
    if "template" in data and "template-file" in data:
        raise _fail(name, "give either template or template-file, not both")
    if isinstance(data.get("template"), str):
        source = data["template"]
    elif isinstance(data.get("template-file"), str) and read_sibling is not None:
        file = data["template-file"]
        if "/" in file or file.startswith("."):
            raise _fail(name, "template-file: a file name beside the declaration")
        source = read_sibling(file)
    else:
        raise _fail(name, "template or template-file: expected a string")
    owner = data.get("owner")
    if owner is not None and (not isinstance(owner, str) or not re.fullmatch(_OWNER, owner)):
        raise _fail(name, "owner: expected user or user:group")
    timeout = data.get("timeout", 2.0)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= MAX_TIMEOUT:
        raise _fail(name, f"timeout: seconds, more than 0 and at most {MAX_TIMEOUT:g}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(name, "description: expected a string")
    return Declaration(
        name=name,
        service=service,
        path=path,
        source=source,
        prefixes=prefixes,
        origin=origin,
        mode=_mode(name, data.get("mode", "0644")),
        owner=owner,
        requires=requires,
        requires_any=requires_any,
        each=each,
        restart_commands=_commands(name, data.get("restart-commands", [])),
        timeout=float(timeout),
        description=description,
    )


SHIPPED_DIR = os.path.join(os.path.dirname(__file__), "shipped")
# The shipped declarations as parse_declaration returns them, each with a digest of its
# file: parsing and checking the 12 files (TOML, the settings model's parts for every
# prefix) cost a boot that loads the appliers ~1.5 ms; written by
# tools/precompile_templates.py, tests/templates/test_precompiled.py fails while stale.
SHIPPED_TABLE = os.path.join(os.path.dirname(__file__), "shipped.json")


def _read_shipped(file: str) -> str:
    with open(os.path.join(SHIPPED_DIR, file), encoding="utf-8") as fh:
        return fh.read()


def _parse_shipped(name: str, text: str) -> Declaration:
    return parse_declaration(name, text, origin="shipped", read_sibling=_read_shipped)


def _from_table(name: str, text: str, entry: Any) -> Declaration | None:
    """The declaration the table holds for this file's text, or None (not there, stale, or
    not of the table's form: the file is parsed)."""
    if not isinstance(entry, dict) or entry.get("digest") != digest(text.encode()):
        return None
    try:
        file = entry["template-file"]
        return Declaration(
            name=name, service=entry["service"], path=entry["path"],
            source=_read_shipped(file) if file is not None else entry["template"],
            prefixes=tuple(entry["prefixes"]), origin="shipped", mode=entry["mode"], owner=entry["owner"],
            requires=tuple(entry["requires"]), requires_any=tuple(entry["requires-any"]), each=entry["each"],
            restart_commands=tuple(tuple(c) for c in entry["restart-commands"]), timeout=entry["timeout"],
            description=entry["description"],
        )
    except (KeyError, TypeError):
        return None


def _shipped_files() -> list[tuple[str, str]]:
    """(name, text) of each shipped declaration file, in name order."""
    # read with open(): importlib.resources would import tempfile, shutil and zipfile
    # (~5 ms) on every boot that loads the appliers
    return [(entry[: -len(".toml")], _read_shipped(entry))
            for entry in sorted(os.listdir(SHIPPED_DIR)) if entry.endswith(".toml")]


def _shipped() -> dict[str, Declaration]:
    import json

    try:
        with open(SHIPPED_TABLE, encoding="utf-8") as fh:
            table = json.load(fh)
    except (OSError, ValueError):
        table = None
    entries = table.get("declarations") if isinstance(table, dict) else None
    if not isinstance(entries, dict):
        entries = {}
    found: dict[str, Declaration] = {}
    for name, text in _shipped_files():
        found[name] = _from_table(name, text, entries.get(name)) or _parse_shipped(name, text)
    return found


def build_shipped_table() -> dict[str, Any]:
    """What `shipped.json` should hold: every shipped file parsed (the tool's job)."""
    declarations: dict[str, Any] = {}
    for name, text in _shipped_files():
        decl = _parse_shipped(name, text)
        file = loads_toml(text, source=name).get("template-file")
        declarations[name] = {
            "digest": digest(text.encode()), "service": decl.service, "path": decl.path,
            "template-file": file, "template": None if file is not None else decl.source,
            "prefixes": list(decl.prefixes), "mode": decl.mode, "owner": decl.owner,
            "requires": list(decl.requires), "requires-any": list(decl.requires_any), "each": decl.each,
            "restart-commands": [list(c) for c in decl.restart_commands], "timeout": decl.timeout,
            "description": decl.description,
        }
    return {"declarations": declarations}


_SHIPPED: list[dict[str, Declaration]] = []


def shipped_declarations() -> dict[str, Declaration]:
    """The declarations shipped with Kindling (parsed once per process)."""
    if not _SHIPPED:
        _SHIPPED.append(_shipped())
    return dict(_SHIPPED[0])


def load_declarations(host: Host | None) -> tuple[dict[str, Declaration], dict[str, TemplateError]]:
    """Shipped declarations overlaid by the user's; and the user files that failed."""
    found = shipped_declarations()
    broken: dict[str, TemplateError] = {}
    if host is None:
        return found, broken
    for file in host.listdir(USER_DIR):
        if not file.endswith(".toml"):
            continue
        name = file[: -len(".toml")]
        where = f"{USER_DIR}/{file}"

        def sibling(other: str) -> str:
            return host.read_text(f"{USER_DIR}/{other}", limit=256 * 1024)

        try:
            text = host.read_text(where, limit=256 * 1024)
            found[name] = parse_declaration(name, text, origin=where, read_sibling=sibling)
            broken.pop(name, None)
        except TemplateError as exc:
            found.pop(name, None)
            broken[name] = exc
        except KindlingError as exc:  # unreadable file, bad key syntax
            found.pop(name, None)
            broken[name] = TemplateError(name, str(exc))
    return dict(sorted(found.items())), broken
