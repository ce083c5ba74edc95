"""net.toml for `kindling validate` and `kindling netdog validate` (one engine, one
parser): `parse_net_toml` in its collecting mode gives each interface's first error,
each named by the interface (table) and key as netdog's boot path names them."""

from __future__ import annotations

import os.path
import re
from typing import Any

from kindling.host import Host
from kindling.validate import Checker, Problem
from kindling.validate.locate import toml_spots

__all__ = ["CHECKER", "check_net_toml"]

_INDEX = re.compile(r"\[(\d+)\]")


def _tables(text: str, source: str) -> dict[str, str]:
    """Interface as netdog names it (`str(InterfaceId)`) -> the table key as written."""
    from kindling.errors import InputError
    from kindling.nesting import TomlError, loads_toml
    from netdog.model import parse_interface_id

    try:
        doc = loads_toml(text, source=source)
    except (TomlError, InputError):
        return {}
    out: dict[str, str] = {}
    for key in doc:
        try:
            out.setdefault(str(parse_interface_id(key)), key)
        except ValueError:
            out.setdefault(key, key)
    return out


def _path(table: str | None, key: str | None) -> tuple[str, ...] | None:
    """`route[1].to` below `eth0` -> (eth0, route, 1, to); a compound key such as
    `dhcp4/dhcp6` stays one segment (found through its table)."""
    if table is None:
        return (key,) if key else None
    if not key:
        return (table,)
    return (table, *_INDEX.sub(r".\1", key).split("."))


def check_net_toml(text: str, source: str, host: Host | None = None) -> list[Problem]:
    """Every error of a net.toml: one per interface, plus the file-wide ones."""
    from netdog.errors import NetConfigError
    from netdog.parse import parse_net_toml

    errors: list[NetConfigError] = []
    parse_net_toml(text, source, errors=errors)
    tables = _tables(text, source) if errors else {}
    problems = []
    for exc in errors:
        table = tables.get(exc.interface, exc.interface) if exc.interface is not None else None
        dotted = ".".join(p for p in (table, exc.key) if p)
        text_form = str(exc)[len(source) + 2 :] if str(exc).startswith(f"{source}: ") else str(exc)
        problems.append(Problem(exc.rule, key=dotted or None, path=_path(table, exc.key), text=text_form))
    return problems


def _claims(doc: dict[str, Any] | None, text: str) -> bool:
    return doc is not None and "version" in doc


CHECKER = Checker(
    kind="net",
    label="net.toml",
    check=check_net_toml,
    claims_name=lambda name: os.path.basename(name) == "net.toml",
    claims=_claims,
    spots=toml_spots,
)
