"""The validated, version-free network model (DESIGN §5 net.toml; STYLE: Values).

`parse.py` turns net.toml v1, v2, v3 or the kernel cmdline into these records; every
consumer (the networkd renderer, the netlink applier, the DNS drop-ins) reads only
this model. Names and addresses are frozen value types built by a `parse()` that
raises `ValueError(rule)`: once built they are trusted everywhere.

Kept from Bottlerocket (`interface_id.rs`, `vlan_id.rs`): an interface name is 1-15
bytes with no `.`, `/`, whitespace or line terminator; a MAC is six 2-digit hex
octets split by `:` or `-`, normalised to lowercase with `:`; a VLAN id is 0-4094.
DHCP settings remember whether they were written as a bare boolean or as a table,
because networkd rendering differs (`required` defaults differ; only the table form
carries `route-metric`).
"""

from __future__ import annotations

import ipaddress

from kindling.record import record

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Literal

__all__ = [
    "ArpMon",
    "Bond",
    "Device",
    "Dhcp4",
    "Dhcp6",
    "Interface",
    "InterfaceId",
    "InterfaceName",
    "IpAddr",
    "IpNet",
    "MacAddress",
    "MiiMon",
    "NetConfig",
    "Route",
    "Vlan",
    "VlanId",
    "ipnet_sort_key",
    "parse_interface_id",
    "parse_ip",
    "parse_ipnet",
]

IpAddr = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNet = ipaddress.IPv4Interface | ipaddress.IPv6Interface

# character sets, not regexes: compiling them cost ~0.3 ms of every `netdog apply`
_LINE_TERMINATORS = frozenset("\n\r\x0b\x0c\x85\u2028\u2029")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


@record(frozen=True, order=True)
class InterfaceName:
    """A Linux interface name (IFNAMSIZ 16 incl. NUL → 1-15 bytes)."""

    value: str

    @classmethod
    def parse(cls, s: str) -> InterfaceName:
        if not _LINE_TERMINATORS.isdisjoint(s):
            raise ValueError("interface name contains a line terminator")
        if not 1 <= len(s.encode("utf-8")) <= 15:
            raise ValueError("interface name must be 1 to 15 bytes long")
        if "." in s or "/" in s or any(c.isspace() for c in s):
            raise ValueError("interface name may not contain '.', '/' or whitespace")
        return cls(s)

    def __str__(self) -> str:
        return self.value


@record(frozen=True, order=True)
class MacAddress:
    """A MAC address, normalised to lowercase `aa:bb:cc:dd:ee:ff`."""

    value: str

    @classmethod
    def parse(cls, s: str) -> MacAddress:
        octets = s.replace("-", ":").split(":")
        if len(octets) != 6 or not all(len(o) == 2 and _HEX_DIGITS.issuperset(o) for o in octets):
            raise ValueError("MAC address must have 6 octets of 2 hex digits")
        return cls(":".join(octets).lower())

    def __str__(self) -> str:
        return self.value

    @property
    def file_stem(self) -> str:
        """The MAC as networkd file names carry it (`f874a4d53264`)."""
        return self.value.replace(":", "")


InterfaceId = InterfaceName | MacAddress


def parse_interface_id(s: str) -> InterfaceId:
    """A v3 table key: an interface name if it is one, else a MAC (serde untagged order)."""
    try:
        return InterfaceName.parse(s)
    except ValueError as name_err:
        try:
            return MacAddress.parse(s)
        except ValueError:
            raise ValueError(f"not an interface name or MAC address ({name_err})") from None


@record(frozen=True)
class VlanId:
    value: int

    @classmethod
    def parse(cls, n: int) -> VlanId:
        if not 0 <= n <= 4094:
            raise ValueError("VLAN id must be between 0 and 4094")
        return cls(n)

    def __str__(self) -> str:
        return str(self.value)


def parse_ip(s: str) -> IpAddr:
    """An IPv4 or IPv6 address; scope ids (`%eth0`) are refused as Rust's IpAddr does."""
    if "%" in s:
        raise ValueError("not an IP address")
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        raise ValueError("not an IP address") from None


def parse_ipnet(s: str) -> IpNet:
    """`address/prefix` (ipnet's IpNet): the prefix is required and decimal."""
    addr, sep, prefix = s.partition("/")
    if not sep or not prefix.isdigit() or "%" in addr:
        raise ValueError("not an address/prefix-length")
    try:
        ip = ipaddress.ip_address(addr)
        if int(prefix) > ip.max_prefixlen:
            raise ValueError
        return ipaddress.ip_interface(f"{ip}/{int(prefix)}")
    except ValueError:
        raise ValueError("not an address/prefix-length") from None


def ipnet_sort_key(n: IpNet) -> tuple[int, int, int]:
    """ipnet's `Ord` (IPv4 before IPv6, then address, then prefix): BTreeSet order."""
    return (n.version, int(n.ip), n.network.prefixlen)


@record(frozen=True)
class Dhcp4:
    enabled: bool
    optional: bool | None = None
    route_metric: int | None = None
    table_form: bool = False

    @property
    def required(self) -> bool:
        """Bare `true` is required, bare `false` is not; tables default to required."""
        if not self.table_form:
            return self.enabled
        return not bool(self.optional)


@record(frozen=True)
class Dhcp6:
    enabled: bool
    optional: bool | None = None
    table_form: bool = False

    @property
    def required(self) -> bool:
        if not self.table_form:
            return self.enabled
        return not bool(self.optional)


@record(frozen=True)
class Route:
    """`to` None means `default`; its family follows `via`, else `from`, else IPv4."""

    to: IpNet | None
    via: IpAddr | None = None
    from_: IpAddr | None = None
    metric: int | None = None

    @property
    def destination(self) -> str:
        if self.to is not None:
            return str(self.to)
        ref = self.via or self.from_
        return "::/0" if ref is not None and ref.version == 6 else "0.0.0.0/0"


@record(frozen=True)
class MiiMon:
    frequency_ms: int
    updelay_ms: int
    downdelay_ms: int


@record(frozen=True)
class ArpMon:
    interval_ms: int
    validate: Literal["active", "all", "backup", "none"]
    targets: tuple[IpAddr, ...]


@record(frozen=True, kw_only=True)
class _Addressing:
    dhcp4: Dhcp4 | None = None
    dhcp6: Dhcp6 | None = None
    static4: tuple[IpNet, ...] | None = None
    static6: tuple[IpNet, ...] | None = None
    routes: tuple[Route, ...] | None = None
    primary: bool | None = None

    @property
    def is_unconfigured(self) -> bool:
        return (
            self.dhcp4 is None
            and self.dhcp6 is None
            and self.static4 is None
            and self.static6 is None
            and self.routes is None
        )

    @property
    def addresses(self) -> tuple[IpNet, ...]:
        return (self.static4 or ()) + (self.static6 or ())


@record(frozen=True, kw_only=True)
class Interface(_Addressing):
    name: InterfaceId


@record(frozen=True, kw_only=True)
class Vlan(_Addressing):
    name: InterfaceName
    device: InterfaceName
    vlan_id: VlanId


@record(frozen=True, kw_only=True)
class Bond(_Addressing):
    name: InterfaceName
    mode: Literal["active-backup"] = "active-backup"
    min_links: int | None = None
    monitoring: MiiMon | ArpMon
    workers: tuple[InterfaceName, ...]


Device = Interface | Vlan | Bond


@record(frozen=True)
class NetConfig:
    """Devices in file order; `source` says where they came from (file path or cmdline)."""

    devices: tuple[Device, ...]
    source: str
    from_cmdline: bool = False

    @property
    def primary(self) -> InterfaceId:
        """The device marked primary, else the first (Bottlerocket's `primary_interface`)."""
        for d in self.devices:
            if d.primary:
                return d.name
        return self.devices[0].name

    def ids(self) -> list[InterfaceId]:
        """The configured ids in file order (bond workers and VLAN parents excluded)."""
        return [d.name for d in self.devices]
