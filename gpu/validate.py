"""driverdog configuration files for `kindling validate`: `parse_driver_config` in its
collecting mode gives each modules set's first error, with the key path it broke."""

from __future__ import annotations

import os.path
from typing import Any

from kindling.host import Host
from kindling.validate import Checker, Problem
from kindling.validate.locate import toml_spots

__all__ = ["CHECKER", "check_driver_config"]

_SET_KEYS = ("lib-modules-path", "kernel-modules", "objects-source", "object-files")


def check_driver_config(text: str, source: str, host: Host | None = None) -> list[Problem]:
    """Every error of one driver config file (one per modules set, plus file-wide ones)."""
    from gpu.driver_config import parse_driver_config
    from gpu.errors import DriverConfigError
    from kindling.dotted import format_key

    errors: list[DriverConfigError] = []
    parse_driver_config(text, source=source, errors=errors)
    problems = []
    for exc in errors:
        key = format_key(exc.path) if exc.path else None
        text_form = str(exc)[len(source) + 2 :] if str(exc).startswith(f"{source}: ") else str(exc)
        problems.append(Problem(exc.rule, key=key, path=exc.path or None, text=text_form))
    return problems


def _claims(doc: dict[str, Any] | None, text: str) -> bool:
    if not doc or not all(isinstance(v, dict) for v in doc.values()):
        return False
    return any(k in v for v in doc.values() for k in _SET_KEYS)


CHECKER = Checker(
    kind="driver",
    label="driver config",
    check=check_driver_config,
    claims_name=lambda name: os.path.basename(os.path.dirname(os.path.abspath(name))) == "drivers"
    and name.endswith(".toml"),
    claims=_claims,
    spots=toml_spots,
)
