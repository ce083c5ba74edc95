"""Errors of the `gpu` package, rooted in `kindling.errors` (STYLE: Errors).

    KindlingError
    ├── InputError
    │   └── DriverConfigError     a driverdog TOML file is unreadable or invalid
    │                             (names the file and the key, never a value)
    ├── NotFoundError
    │   └── ModulesSetNotFound    `--modules-set NAME` names no configured set
    └── HostError
        └── ModuleBuildError      an object file, module.lds or tool is missing;
                                  checked before anything is written
"""

from __future__ import annotations

from kindling.errors import HostError, InputError, NotFoundError

__all__ = ["DriverConfigError", "ModuleBuildError", "ModulesSetNotFound"]


class DriverConfigError(InputError):
    """A driver configuration file fails parsing or validation."""


class ModulesSetNotFound(NotFoundError):
    """The requested modules set is not defined in any configuration file."""


class ModuleBuildError(HostError):
    """A module cannot be linked or copied (missing input); nothing was installed."""
