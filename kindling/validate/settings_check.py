"""A settings tree checked as a commit would check it, every error collected.

The commit path (`SettingsService.commit`, DESIGN §7) runs the model
(`validate_settings`) and then each applier's commit check (`check_commit`: PEM
bundles, NTP servers, sysctl keys, module names, a hostname the kernel can take).
Here the same two run in their collecting mode, against an empty live tree, as on a
fresh node at first boot. The checks read the host at most (lockdown: the running
kernel's level), through a recording Host: nothing acts.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from kindling.dotted import parse_key
from kindling.errors import InputError, KindlingError, SettingsError
from kindling.host import Host
from kindling.validate.problem import Problem

__all__ = ["check_settings_tree", "hides_value"]


def _problem(exc: KindlingError) -> Problem:
    if isinstance(exc, SettingsError):
        try:
            path = tuple(parse_key(exc.key))
        except InputError:
            path = ("settings",)
        return Problem(exc.rule, key=exc.key, path=path)
    text = str(exc)
    if isinstance(exc, InputError) and exc.source and text.startswith(f"{exc.source}: "):
        text = text[len(exc.source) + 2 :]
    return Problem(text, path=("settings",))


def check_settings_tree(tree: Any, host: Host) -> list[Problem]:
    """Every problem of `tree` (settings without the outer key): model, then commit checks."""
    from kindling.appliers import check_commit, load_appliers
    from kindling.settings import validate_settings

    model_errors: list[SettingsError] = []
    valid = validate_settings(tree, source="validate", errors=model_errors)
    check_errors: list[KindlingError] = []
    if valid:
        check_commit(host, {}, valid, load_appliers(host), errors=check_errors)
    return [_problem(e) for e in [*model_errors, *check_errors]]


def hides_value(path: tuple[str, ...]) -> bool:
    """True when the value at `path` (with `settings` first) must not be printed: a
    sensitive key, anything holding one (`aws` given as a string), any `user-data`,
    and a key the model does not know (it may be a misspelt secret)."""
    from kindling.settings.schema import node_at

    if path[:1] != ("settings",):
        return False
    if "user-data" in path:
        return True
    node = node_at(path[1:])
    return node is None or _holds_secret(node)


@cache
def _holds_secret(node: Any) -> bool:
    from kindling.settings.nodes import Leaf, children

    if isinstance(node, Leaf):
        return node.sensitive
    return any(_holds_secret(child) for _name, child in children(node))
