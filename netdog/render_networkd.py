"""The model → systemd-networkd files, `{path: text}` (pure; DESIGN §3, §5).

Byte-for-byte Bottlerocket's `networkd/` module (`config/network.rs`,
`config/netdev.rs`, `devices/*.rs`): sections in the order of its structs, each
present section printed as `[Name]` then `Key=value` lines, no blank lines; list
entries repeat the key. Files are `/etc/systemd/network/10-<name>.{network,netdev}`;
a MAC-keyed interface is matched with `PermanentMACAddress=` and named by the MAC
without colons. A VLAN's device that is not configured itself gets a link-only
`.network` (no addresses, `LinkLocalAddressing=no`, `IPv6AcceptRA=false`).

Deliberate deviations (DESIGN §5; docs/CONTRACT-NOTES.md), tested in
tests/netdog/test_conformance.py: bond timers carry their unit. Upstream writes
`MIIMonitorSec=100` for `miimon-frequency-ms = 100`, which networkd reads as 100
*seconds*; Kindling writes `MIIMonitorSec=100ms` (also `UpDelaySec`, `DownDelaySec`,
`ARPIntervalSec`). An interface with static addresses and no DHCP gets
`IPv6AcceptRA=false`: upstream sets nothing, and networkd then holds the link in
"configuring" for ~13 s waiting for a router advertisement, delaying
network-online.target on every static node.

`accept_ra` (cmdline source) adds `IPv6AcceptRA=true` and `[DHCPv6] WithoutRA=solicit`;
`disable_dad` adds `IPv6DuplicateAddressDetection=0`. generate-net-config applies
both to cmdline-sourced configs, as upstream; the upstream `-ra` golden files were
made with `accept_ra` alone, and the conformance suite renders them that way.
"""

from __future__ import annotations

from netdog.model import (
    ArpMon,
    Bond,
    Device,
    Dhcp4,
    Dhcp6,
    Interface,
    InterfaceId,
    InterfaceName,
    MacAddress,
    NetConfig,
    Route,
    Vlan,
)

__all__ = [
    "NETWORKD_DIR",
    "Unit",
    "network_file_stem",
    "render_networkd",
]

NETWORKD_DIR = "/etc/systemd/network"

_NETWORK_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Match", ("Name", "PermanentMACAddress")),
    ("Link", ("RequiredForOnline", "RequiredFamilyForOnline")),
    (
        "Network",
        (
            "Address",
            "Bond",
            "ConfigureWithoutCarrier",
            "DHCP",
            "IPv6AcceptRA",
            "IPv6DuplicateAddressDetection",
            "LinkLocalAddressing",
            "PrimarySlave",
            "VLAN",
            "KeepConfiguration",
            "BindCarrier",
        ),
    ),
    ("Route", ("Destination", "Gateway", "Metric", "PreferredSource")),
    ("DHCPv4", ("RouteMetric", "UseDNS", "UseDomains", "UseMTU")),
    ("DHCPv6", ("UseDNS", "UseDomains", "WithoutRA")),
    ("IPv6AcceptRA", ("UseDNS", "UseDomains", "UseMTU")),
)
_NETDEV_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("NetDev", ("Name", "Kind", "MACAddress")),
    ("VLAN", ("Id",)),
    (
        "Bond",
        (
            "Mode",
            "MinLinks",
            "MIIMonitorSec",
            "UpDelaySec",
            "DownDelaySec",
            "ARPIntervalSec",
            "ARPValidate",
            "ARPIPTargets",
            "ARPAllTargets",
        ),
    ),
)


def _b(v: bool) -> str:
    return "true" if v else "false"


class Unit:
    """An ordered systemd unit: sections appear once touched; `Route` may repeat."""

    def __init__(self, layout: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.layout = layout
        self.sections: dict[str, dict[str, list[str]]] = {}
        self.routes: list[dict[str, list[str]]] = []

    def section(self, name: str) -> dict[str, list[str]]:
        return self.sections.setdefault(name, {})

    def set(self, section: str, key: str, value: str) -> None:
        self.section(section)[key] = [value]

    def add(self, section: str, key: str, value: str) -> None:
        self.section(section).setdefault(key, []).append(value)

    def render(self) -> str:
        out: list[str] = []
        for name, keys in self.layout:
            bodies = self.routes if name == "Route" else (
                [self.sections[name]] if name in self.sections else []
            )
            for body in bodies:
                out.append(f"[{name}]\n")
                out.extend(f"{k}={v}\n" for k in keys for v in body.get(k, ()))
        return "".join(out)


def network_file_stem(ident: InterfaceId) -> str:
    return ident.file_stem if isinstance(ident, MacAddress) else str(ident)


def _new_network(ident: InterfaceId) -> Unit:
    unit = Unit(_NETWORK_LAYOUT)
    if isinstance(ident, MacAddress):
        unit.set("Match", "PermanentMACAddress", str(ident))
    else:
        unit.set("Match", "Name", str(ident))
    return unit


def _dhcp(unit: Unit, dhcp4: Dhcp4 | None, dhcp6: Dhcp6 | None) -> None:
    """`NetworkBuilder::with_dhcp` and its three cases, line for line."""
    if dhcp4 is not None and dhcp6 is not None:
        on4, on6 = dhcp4.enabled, dhcp6.enabled
        unit.set("Network", "DHCP", {(1, 1): "yes", (1, 0): "ipv4", (0, 1): "ipv6"}.get(
            (int(on4), int(on6)), "no"))
        req4, req6 = dhcp4.required, dhcp6.required
        unit.set("Link", "RequiredForOnline", _b(req4 or req6))
        if req4 or req6:
            family = "both" if req4 and req6 else ("ipv4" if req4 else "ipv6")
            unit.set("Link", "RequiredFamilyForOnline", family)
        if on4:
            _dhcp4_section(unit, dhcp4)
        if on6:
            unit.set("IPv6AcceptRA", "UseMTU", "true")
        if on4 or on6:
            unit.set("Network", "KeepConfiguration", "dhcp")
    elif dhcp4 is not None:
        unit.set("Network", "DHCP", "ipv4" if dhcp4.enabled else "no")
        unit.set("Link", "RequiredForOnline", _b(dhcp4.required))
        if dhcp4.enabled:
            _dhcp4_section(unit, dhcp4)
            unit.set("Network", "KeepConfiguration", "dhcp")
    elif dhcp6 is not None:
        unit.set("Network", "DHCP", "ipv6" if dhcp6.enabled else "no")
        unit.set("Link", "RequiredForOnline", _b(dhcp6.required))
        if dhcp6.enabled:
            unit.set("IPv6AcceptRA", "UseMTU", "true")
            unit.set("Network", "KeepConfiguration", "dhcp")


def _dhcp4_section(unit: Unit, dhcp4: Dhcp4) -> None:
    section = unit.section("DHCPv4")
    if dhcp4.route_metric is not None:
        section["RouteMetric"] = [str(dhcp4.route_metric)]
    section["UseMTU"] = ["true"]


def _route(route: Route) -> dict[str, list[str]]:
    body = {"Destination": [route.destination]}
    if route.via is not None:
        body["Gateway"] = [str(route.via)]
    if route.metric is not None:
        body["Metric"] = [str(route.metric)]
    if route.from_ is not None:
        body["PreferredSource"] = [str(route.from_)]
    return body


def _addressing(unit: Unit, d: Device) -> None:
    _dhcp(unit, d.dhcp4, d.dhcp6)
    if d.addresses and not any(x is not None and x.enabled for x in (d.dhcp4, d.dhcp6)):
        # Static only: without this networkd waits ~13 s for a router advertisement
        # before it calls the link configured, and network-online.target with it.
        unit.set("Network", "IPv6AcceptRA", "false")
    for net in d.addresses:
        unit.add("Network", "Address", str(net))
    for route in d.routes or ():
        unit.routes.append(_route(route))


def _vlans_of(unit: Unit, vlans: list[InterfaceName]) -> None:
    for v in vlans:
        unit.add("Network", "VLAN", str(v))


def _interface_networks(d: Interface, vlans: dict[InterfaceName, list[InterfaceName]]) -> Unit:
    attached = vlans.get(d.name) if isinstance(d.name, InterfaceName) else None
    unit = _new_network(d.name)
    if d.is_unconfigured and attached:
        unit.set("Network", "LinkLocalAddressing", "no")
        unit.set("Network", "IPv6AcceptRA", "false")
    else:
        _addressing(unit, d)
    if attached:
        _vlans_of(unit, attached)
    return unit


def _bond_netdev(d: Bond) -> Unit:
    unit = Unit(_NETDEV_LAYOUT)
    unit.set("NetDev", "Name", str(d.name))
    unit.set("NetDev", "Kind", "bond")
    unit.set("NetDev", "MACAddress", "none")
    unit.set("Bond", "Mode", d.mode)
    if d.min_links is not None:
        unit.set("Bond", "MinLinks", str(d.min_links))
    mon = d.monitoring
    if isinstance(mon, ArpMon):
        unit.set("Bond", "ARPAllTargets", "any")
        unit.set("Bond", "ARPIntervalSec", f"{mon.interval_ms}ms")
        for target in mon.targets:
            unit.add("Bond", "ARPIPTargets", str(target))
        unit.set("Bond", "ARPValidate", mon.validate)
    else:
        unit.set("Bond", "MIIMonitorSec", f"{mon.frequency_ms}ms")
        unit.set("Bond", "UpDelaySec", f"{mon.updelay_ms}ms")
        unit.set("Bond", "DownDelaySec", f"{mon.downdelay_ms}ms")
    return unit


def _bond_networks(d: Bond, vlans: dict[InterfaceName, list[InterfaceName]]) -> list[Unit]:
    unit = _new_network(d.name)
    unit.set("Network", "ConfigureWithoutCarrier", "true")
    _addressing(unit, d)
    for worker in d.workers:
        unit.add("Network", "BindCarrier", str(worker))
    _vlans_of(unit, vlans.get(d.name, []))
    units = [unit]
    for index, worker in enumerate(d.workers):
        w = _new_network(worker)
        w.set("Network", "LinkLocalAddressing", "no")
        w.set("Network", "Bond", str(d.name))
        if index == 0:
            w.set("Network", "PrimarySlave", "true")
        units.append(w)
    return units


def _vlan_files(d: Vlan) -> tuple[Unit, Unit]:
    netdev = Unit(_NETDEV_LAYOUT)
    netdev.set("NetDev", "Name", str(d.name))
    netdev.set("NetDev", "Kind", "vlan")
    netdev.set("VLAN", "Id", str(d.vlan_id))
    network = _new_network(d.name)
    network.set("Network", "ConfigureWithoutCarrier", "true")
    _addressing(network, d)
    return netdev, network


def render_networkd(
    config: NetConfig, *, accept_ra: bool = False, disable_dad: bool = False
) -> dict[str, str]:
    """Every networkd file for `config`, keyed by absolute path, in upstream order."""
    vlans: dict[InterfaceName, list[InterfaceName]] = {}
    for d in config.devices:
        if isinstance(d, Vlan):
            vlans.setdefault(d.device, []).append(d.name)
    devices: list[Device] = list(config.devices)
    named = {d.name for d in devices}
    devices += [Interface(name=parent) for parent in vlans if parent not in named]

    files: list[tuple[str, Unit]] = []
    for d in devices:
        if isinstance(d, Interface):
            files.append((f"{network_file_stem(d.name)}.network", _interface_networks(d, vlans)))
        elif isinstance(d, Bond):
            files.append((f"{d.name}.netdev", _bond_netdev(d)))
            files += [(f"{_stem(u)}.network", u) for u in _bond_networks(d, vlans)]
        else:
            netdev, network = _vlan_files(d)
            files += [(f"{d.name}.netdev", netdev), (f"{d.name}.network", network)]

    out: dict[str, str] = {}
    for name, unit in files:
        if name.endswith(".network"):
            if accept_ra:
                unit.set("Network", "IPv6AcceptRA", "true")
                unit.set("DHCPv6", "WithoutRA", "solicit")
            if disable_dad:
                unit.set("Network", "IPv6DuplicateAddressDetection", "0")
        out[f"{NETWORKD_DIR}/10-{name}"] = unit.render()
    return out


def _stem(unit: Unit) -> str:
    return unit.sections["Match"]["Name"][0]
