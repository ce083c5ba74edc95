"""netdog's errors (STYLE: Errors), under the one `kindling.errors` tree.

    KindlingError
    ├── InputError
    │   └── NetConfigError      net.toml / kernel cmdline: names source, interface, key, rule
    └── HostError
        └── NetlinkError        a netlink request or the DHCP exchange failed

Bottlerocket reports bad net.toml as serde's "data did not match any variant of
untagged enum NetworkDeviceV1": no interface, no key. A `NetConfigError` always says
which interface (table) and which key broke which rule, and never echoes a value.
"""

from __future__ import annotations

from kindling.errors import HostError, InputError

__all__ = ["NetConfigError", "NetlinkError"]


class NetConfigError(InputError):
    """A net.toml (or cmdline) problem: `interface` and `key` may be empty when global."""

    def __init__(
        self, rule: str, *, source: str, interface: str | None = None, key: str | None = None
    ) -> None:
        self.interface = interface
        self.key = key
        self.rule = rule
        where = []
        if interface is not None:
            where.append(f"interface {interface}")
        if key is not None:
            where.append(key)
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {rule}" if prefix else rule, source=source)


class NetlinkError(HostError):
    """The kernel refused a netlink request, or DHCP did not complete in time."""
