"""Bootconfig files for `kindling validate`: the kernel's grammar and limits (one error:
the kernel's parser stops at the first, and so does ours), then every
`kindling.settings.*` key read as the metal provider reads it and checked as a
commit would check it. Each error names the bootconfig key as written and its line."""

from __future__ import annotations

import os.path
from typing import Any

from kindling.errors import InputError
from kindling.host import Host
from kindling.validate import Checker, Problem
from kindling.validate.locate import Spot, Spots
from platforms.metal.bootconfig import PREFIX, _path_and_node, settings_leaves

__all__ = ["CHECKER", "check_bootconfig"]


def _strip(text: str, source: str) -> str:
    return text[len(source) + 2 :] if text.startswith(f"{source}: ") else text


def _owner(spath: tuple[str, ...], leaves: list[tuple[str, tuple[str, ...], Any]]) -> str | None:
    """The bootconfig key that set `spath` (a settings path below `settings`)."""
    for key, path, _value in leaves:
        if spath[: len(path)] == path:
            return key
    for key, path, _value in leaves:
        if path[: len(spath)] == spath:
            return key
    return None


def check_bootconfig(text: str, source: str, host: Host) -> list[Problem]:
    """Every error of a bootconfig file (a syntax error stops the check there)."""
    from kindling.bootconfig import BootconfigError, parse_bootconfig
    from kindling.merge import unflatten
    from kindling.validate.settings_check import check_settings_tree

    try:
        config = parse_bootconfig(text, source=source)
    except BootconfigError as exc:
        return [Problem(exc.rule, key=exc.key, line=exc.line, text=_strip(str(exc), source))]
    errors: list[InputError] = []
    leaves = settings_leaves(config, source=source, errors=errors)
    problems = []
    for refused in errors:
        message = _strip(str(refused), source)
        key, _sep, rule = message.partition(": ")
        problems.append(Problem(rule, key=key, path=tuple(key.split(".")), text=message))
    for problem in check_settings_tree(unflatten([(p, v) for _k, p, v in leaves]), host):
        owner = _owner((problem.path or ("settings",))[1:], leaves)
        if owner is None:
            problems.append(problem)
            continue
        problems.append(Problem(problem.message, key=owner, path=tuple(owner.split(".")),
                                text=f"{owner}: {problem.message}"))
    return problems


def bootconfig_spots(text: str) -> Spots:
    """Each full key's line (the first place it is written) and its last word's column."""
    from kindling.bootconfig import BootconfigError, parse_bootconfig

    lines: dict[str, int] = {}
    try:
        parse_bootconfig(text, source="bootconfig", lines=lines)
    except BootconfigError:
        pass
    rows = text.splitlines()
    spots: Spots = {}
    for key, line in lines.items():
        word = key.rsplit(".", 1)[-1]
        column = rows[line - 1].find(word) + 1 if line <= len(rows) else 0
        spots[tuple(key.split("."))] = Spot(line, max(column, 1), len(word))
    return spots


def _hides(path: tuple[str, ...]) -> bool:
    from kindling.validate.settings_check import hides_value

    if path[:2] != tuple(PREFIX.split(".")):
        return False
    spath, _node = _path_and_node(list(path[2:]))
    return hides_value(("settings", *spath))


def _claims_name(name: str) -> bool:
    base = os.path.basename(name)
    return "bootconfig" in base or base.endswith((".bconf", ".bootconfig"))


def _claims(doc: dict[str, Any] | None, text: str) -> bool:
    if doc is not None:
        return set(doc) == {"kindling"}  # `kindling.settings.x = "…"` reads as TOML too
    from kindling.bootconfig import BootconfigError, parse_bootconfig

    try:
        return bool(parse_bootconfig(text, source="bootconfig"))
    except BootconfigError:
        return False


CHECKER = Checker(
    kind="bootconfig",
    label="bootconfig",
    check=check_bootconfig,
    claims_name=_claims_name,
    claims=_claims,
    spots=bootconfig_spots,
    hides=_hides,
)
