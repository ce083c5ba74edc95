"""`kindling templates list | render NAME [--plan] [--user-data FILE]`.

list      every configuration-file declaration: name, consumer, output path, origin
render    print what NAME writes from the live settings (or from a user-data TOML file
          given with --user-data); with --plan, say which files would change instead.
Nothing is written by either: the settings applier writes the files.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.errors import InputError, UsageError
from kindling.host import Host

__all__ = ["build_parser", "main"]

_EPILOG = """examples:
  kindling templates list
  kindling templates render kubelet-config
  kindling templates render containerd-hosts --plan
  kindling templates render ecs-config --user-data ./user-data.toml

Add a template: write /etc/kindling/templates.d/NAME.toml (path, prefixes, template or
template-file, restart-commands); a NAME that Kindling ships replaces the shipped one."""


def _settings(host: Host, user_data: str | None) -> dict[str, Any]:
    if user_data is None:
        from kindling.api.service import SettingsService

        return SettingsService(host).get_settings()
    import tomllib

    from kindling.settings import validate_settings

    try:
        with open(user_data, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=user_data) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=user_data) from None
    tree = doc.get("settings", {})
    result: dict[str, Any] = validate_settings(tree, source=user_data)
    return result


def _list(host: Host, as_json: bool) -> int:
    from kindling.templates.declaration import load_declarations

    decls, broken = load_declarations(host)
    rows = [
        {"name": d.name, "service": d.service, "path": d.path, "origin": d.origin,
         "prefixes": list(d.prefixes), "description": d.description}
        for d in decls.values()
    ]
    errors = [{"name": n, "error": str(e)} for n, e in sorted(broken.items())]
    if as_json:
        from kindling.envelope import failure

        why = failure("; ".join(f"{e['name']}: {e['error']}" for e in errors), source="templates") if errors else None
        emit_json({"templates": rows, "broken": errors}, ok=not errors, error=why)
    else:
        width = max((len(r["name"]) for r in rows), default=4)
        for r in rows:
            origin = "" if r["origin"] == "shipped" else f"  ({r['origin']})"
            sys.stdout.write(f"{r['name']:<{width}}  {r['service']:<12} {r['path']}{origin}\n")
        for e in errors:
            sys.stdout.write(f"{e['name']:<{width}}  broken: {e['error']}\n")
    return 1 if errors else 0


def _render(host: Host, name: str, user_data: str | None, as_json: bool) -> int:
    from kindling.templates.declaration import load_declarations
    from kindling.templates.render import render_declaration

    decls, broken = load_declarations(host)
    if name in broken:
        raise broken[name]
    decl = decls.get(name)
    if decl is None:
        raise UsageError(f"no template named {name!r} (see 'kindling templates list')")
    files = render_declaration(decl, _settings(host, user_data))
    if host.recording:
        lines = []
        for out in files:
            current = host.read_optional(out.path)
            size = len(out.text.encode())
            same = current == out.text
            what = f"would write {out.path} ({size} bytes, mode {out.mode:04o})"
            lines.append(f"{out.path} unchanged" if same else what)
        if as_json:
            emit_json({"template": name, "plan": lines})
        else:
            sys.stdout.write("".join(f"{line}\n" for line in lines) or f"{name}: no file with these settings\n")
        return 0
    if as_json:
        rows = [{"path": f.path, "mode": f"{f.mode:04o}", "text": f.text} for f in files]
        emit_json({"template": name, "files": rows})
        return 0
    if not files:
        sys.stdout.write(f"# {name}: no file with these settings\n")
    for out in files:
        if len(files) > 1:
            sys.stdout.write(f"# ---- {out.path} (mode {out.mode:04o})\n")
        sys.stdout.write(out.text)
    return 0


_DESCRIPTION = """\
list      every configuration-file declaration: name, consumer, output path, origin
render    print what NAME writes from the live settings (or from a user-data TOML file
          given with --user-data); with --plan, say which files would change instead.
Nothing is written by either: the settings applier writes the files."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling templates", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    lst = sub.add_parser("list", help="the declared configuration files")
    add_common(lst, acts=False)
    ren = sub.add_parser("render", help="print what a template writes (--plan: what would change)")
    ren.add_argument("name", metavar="NAME", help="the declaration to render (see 'kindling templates list')")
    ren.add_argument("--user-data", metavar="FILE", help="render from this user-data TOML instead of the live settings")
    add_common(ren)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    if args.verb == "list":
        return _list(host, args.json)
    return _render(host, args.name, args.user_data, args.json)
