"""The user-data provider contract (DESIGN §1, §5), in the hub so platforms need not
import `early_boot` (service packages never import each other).

A built-in provider is an in-process `UserDataProvider` registered under the
entry-point group `kindling.user_data_providers`; early-boot-config loads the group,
keeps the providers serving the node's platform and runs them by `order`
(10 local defaults, 20 local file, 30 identity document / CD-ROM / bootconfig,
40 IMDS / guestinfo, 50-98 external executables, 99 local overrides). This replaces
Bottlerocket's symlinks in `data-providers.d`, which cost a process per source.

`read(host)` returns `UserData` (the settings tree without the outer key, plus a
description of the source) or None when the source holds nothing. It raises
`KindlingError` (usually `InputError` naming the source) for anything else; it must
not commit or write anything: the runner commits all providers' data at once.
"""

from __future__ import annotations

from collections.abc import Callable

from kindling.host import Host
from kindling.record import record
from kindling.user_data import UserData

__all__ = ["PROVIDER_GROUP", "UserData", "UserDataProvider", "load_providers"]

PROVIDER_GROUP = "kindling.user_data_providers"


@record(frozen=True)
class UserDataProvider:
    """One source of user data. `platforms=None` serves every platform."""

    name: str
    order: int
    read: Callable[[Host], UserData | None]
    platforms: tuple[str, ...] | None = None
    description: str = ""

    def serves(self, platform: str) -> bool:
        return self.platforms is None or platform in self.platforms


def load_providers(platform: str | None = None) -> list[UserDataProvider]:
    """The registered providers (for `platform`, if given) in run order."""
    from kindling.registry import load

    found = [p for p in load(PROVIDER_GROUP) if isinstance(p, UserDataProvider)]
    if platform is not None:
        found = [p for p in found if p.serves(platform)]
    return sorted(found, key=lambda p: (p.order, p.name))
