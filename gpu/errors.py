"""Errors of the `gpu` package, rooted in `kindling.errors` (STYLE: Errors).

    KindlingError
    ├── InputError
    │   └── DriverConfigError     a driverdog TOML file is unreadable or invalid
    │                             (names the file and the key, never a value)
    ├── NotFoundError
    │   └── ModulesSetNotFound    `--modules-set NAME` names no configured set
    └── HostError
        ├── ModuleBuildError      an object file, module.lds or tool is missing;
        │                         checked before anything is written
        └── GpuError              a GPU is present and no usable driver is installed
"""

from __future__ import annotations

from kindling.errors import HostError, InputError, NotFoundError

__all__ = ["DriverConfigError", "GpuError", "ModuleBuildError", "ModulesSetNotFound"]


class DriverConfigError(InputError):
    """A driver configuration file fails parsing or validation; `path` (the key's
    segments in the file, a list index as its own segment) and `rule` say where and
    what, for `kindling validate`."""

    def __init__(
        self, message: str, *, source: str | None = None, path: tuple[str, ...] = (), rule: str | None = None
    ) -> None:
        self.path = path
        self.rule = rule or message
        super().__init__(message, source=source)


class ModulesSetNotFound(NotFoundError):
    """The requested modules set is not defined in any configuration file."""


class ModuleBuildError(HostError):
    """A module cannot be linked or copied (missing input); nothing was installed."""


class GpuError(HostError):
    """A GPU is present but no driverdog set nor distribution driver can drive it."""
