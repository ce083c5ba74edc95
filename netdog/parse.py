"""net.toml v1/v2/v3 and `netdog.default-interface=` → the model (pure: text in, values out).

Grammar and rules follow Bottlerocket netdog (`net_config/{mod,v1,v2,v3}.rs`,
`net_config/devices/*.rs`, `addressing/*.rs`, `bonding.rs`), checked against the
conformance fixtures in shared/conformance/bottlerocket/netdog:

- v1: `[name]` tables with `primary`, `dhcp4`, `dhcp6`; each needs dhcp4 or dhcp6.
- v2: adds `static4`, `static6` (`addresses = ["a/p", …]`) and `[[name.route]]`
  (`to` = "default" or a prefix, `from`, `via`, `route-metric`); routes need static
  addresses and are refused with DHCP.
- v3: table keys may be MAC addresses; `kind = "bond"` (active-backup, `interfaces`,
  `min-links`, `[x.monitoring]` miimon-* or arpmon-*) and `kind = "vlan"` (`device`,
  `id` 0-4094). Bond members may not be configured anywhere else (nor be a VLAN's
  device); bonds and VLANs may not be keyed by MAC.
- one `primary = true` at most; without one the first table is primary.

Deliberate deviations (each tested in tests/netdog/test_parse.py):
- every error names the source, the interface (table), the key and the rule, instead
  of serde's "data did not match any variant of untagged enum";
- `static4` must hold only IPv4 and `static6` only IPv6 (upstream only checks that a
  list is not mixed, so IPv6 addresses under `static4` were accepted);
- two tables naming the same MAC (`f8:74:…` and `F8-74-…`) are refused as duplicates;
- on the cmdline, `dhcp4,dhcp4?` is refused like `dhcp4?,dhcp4` (upstream only
  caught the second order).
"""

from __future__ import annotations

from typing import Any

from kindling.errors import InputError
from kindling.nesting import TomlError, loads_toml
from netdog.errors import NetConfigError
from netdog.model import (
    ArpMon,
    Bond,
    Device,
    Dhcp4,
    Dhcp6,
    Interface,
    InterfaceId,
    InterfaceName,
    IpNet,
    MacAddress,
    MiiMon,
    NetConfig,
    Route,
    Vlan,
    VlanId,
    ipnet_sort_key,
    parse_interface_id,
    parse_ip,
    parse_ipnet,
)

__all__ = ["CMDLINE_PREFIX", "parse_cmdline", "parse_default_interface", "parse_net_toml"]

CMDLINE_PREFIX = "netdog.default-interface="

_V1_KEYS = ("primary", "dhcp4", "dhcp6")
_ADDR_KEYS = (*_V1_KEYS, "static4", "static6", "route")
_BOND_KEYS = (*_ADDR_KEYS, "kind", "mode", "min-links", "monitoring", "interfaces")
_VLAN_KEYS = (*_ADDR_KEYS, "kind", "device", "id")
_MII = ("miimon-frequency-ms", "miimon-updelay-ms", "miimon-downdelay-ms")
_ARP = ("arpmon-interval-ms", "arpmon-validate", "arpmon-targets")
_ARP_VALIDATE = ("active", "all", "backup", "none")
_U32_MAX = 2**32 - 1


class _Where:
    """The source and interface an error is about."""

    def __init__(self, source: str, interface: str | None = None) -> None:
        self.source = source
        self.interface = interface

    def error(self, key: str | None, rule: str) -> NetConfigError:
        return NetConfigError(rule, source=self.source, interface=self.interface, key=key)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a " + type(value).__name__


def _table(w: _Where, key: str | None, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise w.error(key, f"expected a table, got {_kind(value)}")
    return value


def _only(w: _Where, prefix: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for k in table:
        if k not in allowed:
            raise w.error(prefix + k, f"unknown key (allowed: {', '.join(allowed)})")


def _bool(w: _Where, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise w.error(key, f"expected a boolean, got {_kind(value)}")
    return value


def _uint(w: _Where, key: str, value: Any, hi: int = _U32_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise w.error(key, f"expected an integer, got {_kind(value)}")
    if not 0 <= value <= hi:
        raise w.error(key, f"must be between 0 and {hi}")
    return value


def _str(w: _Where, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise w.error(key, f"expected a string, got {_kind(value)}")
    return value


def _list(w: _Where, key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise w.error(key, f"expected an array, got {_kind(value)}")
    return value


def _dhcp4(w: _Where, value: Any) -> Dhcp4:
    if isinstance(value, bool):
        return Dhcp4(enabled=value)
    if not isinstance(value, dict):
        raise w.error("dhcp4", f"expected a boolean or a table, got {_kind(value)}")
    _only(w, "dhcp4.", value, ("enabled", "optional", "route-metric"))
    if "enabled" not in value:
        raise w.error("dhcp4.enabled", "required when dhcp4 is a table")
    optional = value.get("optional")
    metric = value.get("route-metric")
    return Dhcp4(
        enabled=_bool(w, "dhcp4.enabled", value["enabled"]),
        optional=None if optional is None else _bool(w, "dhcp4.optional", optional),
        route_metric=None if metric is None else _uint(w, "dhcp4.route-metric", metric),
        table_form=True,
    )


def _dhcp6(w: _Where, value: Any) -> Dhcp6:
    if isinstance(value, bool):
        return Dhcp6(enabled=value)
    if not isinstance(value, dict):
        raise w.error("dhcp6", f"expected a boolean or a table, got {_kind(value)}")
    _only(w, "dhcp6.", value, ("enabled", "optional"))
    if "enabled" not in value:
        raise w.error("dhcp6.enabled", "required when dhcp6 is a table")
    optional = value.get("optional")
    return Dhcp6(
        enabled=_bool(w, "dhcp6.enabled", value["enabled"]),
        optional=None if optional is None else _bool(w, "dhcp6.optional", optional),
        table_form=True,
    )


def _static(w: _Where, key: str, value: Any) -> tuple[IpNet, ...]:
    table = _table(w, key, value)
    _only(w, key + ".", table, ("addresses",))
    if "addresses" not in table:
        raise w.error(f"{key}.addresses", "required")
    family = 4 if key == "static4" else 6
    found: dict[IpNet, None] = {}
    for i, item in enumerate(_list(w, f"{key}.addresses", table["addresses"])):
        k = f"{key}.addresses[{i}]"
        try:
            net = parse_ipnet(_str(w, k, item))
        except ValueError as exc:
            raise w.error(k, str(exc)) from None
        if net.version != family:
            raise w.error(k, f"IPv{net.version} address in {key}: all must be IPv{family}")
        found[net] = None
    return tuple(sorted(found, key=ipnet_sort_key))


def _routes(w: _Where, value: Any) -> tuple[Route, ...]:
    routes = []
    for i, item in enumerate(_list(w, "route", value)):
        k = f"route[{i}]"
        table = _table(w, k, item)
        _only(w, k + ".", table, ("to", "from", "via", "route-metric"))
        if "to" not in table:
            raise w.error(f"{k}.to", "required")
        to_text = _str(w, f"{k}.to", table["to"]).lower()
        try:
            to = None if to_text == "default" else parse_ipnet(to_text)
        except ValueError:
            raise w.error(f"{k}.to", "must be 'default' or an address/prefix-length") from None
        ips = {}
        for name in ("from", "via"):
            if name in table:
                try:
                    ips[name] = parse_ip(_str(w, f"{k}.{name}", table[name]))
                except ValueError as exc:
                    raise w.error(f"{k}.{name}", str(exc)) from None
        metric = table.get("route-metric")
        routes.append(
            Route(
                to=to,
                via=ips.get("via"),
                from_=ips.get("from"),
                metric=None if metric is None else _uint(w, f"{k}.route-metric", metric),
            )
        )
    return tuple(routes)


def _addressing(w: _Where, body: dict[str, Any], *, v1: bool) -> dict[str, Any]:
    """The fields every device shares, parsed (rules are checked by `_check_addressing`)."""
    out: dict[str, Any] = {}
    if "primary" in body:
        out["primary"] = _bool(w, "primary", body["primary"])
    if "dhcp4" in body:
        out["dhcp4"] = _dhcp4(w, body["dhcp4"])
    if "dhcp6" in body:
        out["dhcp6"] = _dhcp6(w, body["dhcp6"])
    if v1:
        if "dhcp4" not in out and "dhcp6" not in out:
            raise w.error("dhcp4/dhcp6", "each interface must configure dhcp4 or dhcp6, or both")
        return out
    for key in ("static4", "static6"):
        if key in body:
            out[key] = _static(w, key, body[key])
    if "route" in body:
        out["routes"] = _routes(w, body["route"])
    return out


def _check_addressing(w: _Where, d: Device) -> None:
    """Bottlerocket's `validate_addressing` (the routes rule before the generic one,
    which upstream made unreachable by testing it first)."""
    has_dhcp = d.dhcp4 is not None or d.dhcp6 is not None
    has_static = d.static4 is not None or d.static6 is not None
    if has_dhcp and d.routes is not None:
        raise w.error("route", "static routes are not supported with dhcp")
    if d.routes is not None and not has_static:
        raise w.error("route", "routes need static4 or static6 addresses")
    if not has_dhcp and not has_static:
        raise w.error(
            "dhcp4/dhcp6/static4/static6",
            "each interface must configure dhcp and/or static addresses",
        )


def _monitoring(w: _Where, value: Any) -> MiiMon | ArpMon:
    table = _table(w, "monitoring", value)
    _only(w, "monitoring.", table, _MII + _ARP)
    mii = [k for k in _MII if k in table]
    arp = [k for k in _ARP if k in table]
    if mii and arp:
        raise w.error("monitoring", "set either miimon-* or arpmon-* keys, not both")
    if not mii and not arp:
        raise w.error("monitoring", "needs the miimon-* or the arpmon-* keys")
    needed = _MII if mii else _ARP
    for k in needed:
        if k not in table:
            raise w.error(f"monitoring.{k}", "required")
    if mii:
        freq, up, down = (_uint(w, f"monitoring.{k}", table[k]) for k in _MII)
        if freq == 0:
            raise w.error(
                "monitoring.miimon-frequency-ms",
                "0 disables MII monitoring: set a value or configure ARP monitoring",
            )
        if freq > up or freq > down:
            raise w.error(
                "monitoring.miimon-updelay-ms/miimon-downdelay-ms",
                "must be equal to or larger than miimon-frequency-ms",
            )
        return MiiMon(freq, up, down)
    interval = _uint(w, "monitoring.arpmon-interval-ms", table["arpmon-interval-ms"])
    if interval == 0:
        raise w.error(
            "monitoring.arpmon-interval-ms",
            "0 disables ARP monitoring: set a value or configure MII monitoring",
        )
    validate = _str(w, "monitoring.arpmon-validate", table["arpmon-validate"])
    if validate not in _ARP_VALIDATE:
        raise w.error("monitoring.arpmon-validate", "must be active, all, backup or none")
    targets = []
    for i, t in enumerate(_list(w, "monitoring.arpmon-targets", table["arpmon-targets"])):
        k = f"monitoring.arpmon-targets[{i}]"
        try:
            targets.append(parse_ip(_str(w, k, t)))
        except ValueError as exc:
            raise w.error(k, str(exc)) from None
    if not 1 <= len(targets) <= 16:
        raise w.error("monitoring.arpmon-targets", "must list between 1 and 16 targets")
    return ArpMon(interval, validate, tuple(targets))  # type: ignore[arg-type]


def _name(w: _Where, key: str, value: Any) -> InterfaceName:
    try:
        return InterfaceName.parse(_str(w, key, value))
    except ValueError as exc:
        raise w.error(key, str(exc)) from None


def _bond(w: _Where, name: InterfaceName, body: dict[str, Any]) -> Bond:
    _only(w, "", body, _BOND_KEYS)
    for k in ("mode", "interfaces", "monitoring"):
        if k not in body:
            raise w.error(k, "required for a bond")
    if _str(w, "mode", body["mode"]) != "active-backup":
        raise w.error("mode", "only active-backup is supported")
    workers = tuple(
        _name(w, f"interfaces[{i}]", v)
        for i, v in enumerate(_list(w, "interfaces", body["interfaces"]))
    )
    monitoring = _monitoring(w, body["monitoring"])
    fields = _addressing(w, body, v1=False)
    if not workers:
        raise w.error("interfaces", "bonds must have 1 or more interfaces specified")
    min_links = None
    if "min-links" in body:
        min_links = _uint(w, "min-links", body["min-links"])
        if min_links > len(workers):
            raise w.error("min-links", "greater than the number of interfaces in the bond")
    return Bond(name=name, min_links=min_links, monitoring=monitoring, workers=workers, **fields)


def _vlan(w: _Where, name: InterfaceName, body: dict[str, Any]) -> Vlan:
    _only(w, "", body, _VLAN_KEYS)
    for k in ("device", "id"):
        if k not in body:
            raise w.error(k, "required for a vlan")
    device = _name(w, "device", body["device"])
    try:
        vlan_id = VlanId.parse(_uint(w, "id", body["id"], hi=65535))
    except ValueError as exc:
        raise w.error("id", str(exc)) from None
    return Vlan(name=name, device=device, vlan_id=vlan_id, **_addressing(w, body, v1=False))


def _device_v3(w: _Where, ident: InterfaceId, body: dict[str, Any]) -> Device:
    kind = body.get("kind")
    if kind is None:
        special = [k for k in ("mode", "interfaces", "monitoring", "device", "id") if k in body]
        if special:
            raise w.error("kind", f"missing: '{special[0]}' is only valid with kind bond or vlan")
        _only(w, "", body, _ADDR_KEYS)
        return Interface(name=ident, **_addressing(w, body, v1=False))
    kind = _str(w, "kind", kind)
    if kind not in ("bond", "Bond", "vlan", "Vlan", "VLAN"):
        raise w.error("kind", "must be bond or vlan")
    if isinstance(ident, MacAddress):
        raise w.error("kind", "bonds and vlans may not be configured using a MAC address")
    if kind.lower() == "bond":
        return _bond(w, ident, body)
    return _vlan(w, ident, body)


def _check_primary(source: str, devices: list[Device]) -> None:
    primaries = [d for d in devices if d.primary]
    if len(primaries) > 1:
        raise NetConfigError(
            "multiple primary interfaces defined, expected 1",
            source=source,
            interface=str(primaries[1].name),
            key="primary",
        )


class _Collect:
    """`with _Collect(errors):` records a `NetConfigError` in `errors` and goes on
    (`kindling validate`: every interface's error at once); with None it raises, so
    the boot path stops at the first error exactly as before."""

    def __init__(self, errors: list[NetConfigError] | None) -> None:
        self.errors = errors

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, NetConfigError) and self.errors is not None:
            self.errors.append(exc)
            return True
        return False


def _check_v3(source: str, devices: list[Device], errors: list[NetConfigError] | None = None) -> None:
    """Upstream's `NetConfigV3::validate` order: per device, bond membership, then
    addressing. A bond member is owned by its bond: it may not be configured alone,
    be a VLAN's device or belong to another bond."""
    taken: set[InterfaceName] = {d.name for d in devices if isinstance(d.name, InterfaceName)}
    taken |= {d.device for d in devices if isinstance(d, Vlan)}
    for d in devices:
        w = _Where(source, str(d.name))
        with _Collect(errors):
            if isinstance(d, Bond):
                for i, worker in enumerate(d.workers):
                    if worker in taken:
                        raise w.error(
                            f"interfaces[{i}]",
                            f"{worker} in bond {d.name} cannot be configured elsewhere "
                            "(as an interface, a vlan device or in another bond)",
                        )
                    taken.add(worker)
            _check_addressing(w, d)


def parse_net_toml(
    text: str, source: str, *, errors: list[NetConfigError] | None = None
) -> NetConfig | None:
    """Parse and validate a net.toml; None when it configures no interface.

    With `errors`, each interface's first error (and each file-wide one) is appended
    there instead of raised, and the result holds the interfaces that passed."""
    w = _Where(source)
    collect = _Collect(errors)
    with collect:
        try:
            doc = loads_toml(text, source=source)
        except TomlError as exc:
            raise w.error(None, f"not valid TOML: {exc}") from None
        except NetConfigError:
            raise
        except InputError as exc:  # nested too deep: the file's problem, named as netdog's
            raise w.error(None, _rule_of(exc)) from None
        if "version" not in doc:
            raise w.error("version", "missing: expected version = 1, 2 or 3")
        version = doc.pop("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise w.error("version", f"expected an integer, got {_kind(version)}")
        if version not in (1, 2, 3):
            raise w.error("version", "unknown network config version: expected 1, 2 or 3")
        return _devices(doc, version, source, errors)
    return None


def _rule_of(exc: InputError) -> str:
    text = str(exc)
    prefix = f"{exc.source}: " if exc.source else ""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


def _devices(
    doc: dict[str, Any], version: int, source: str, errors: list[NetConfigError] | None
) -> NetConfig | None:
    devices: list[Device] = []
    seen: set[InterfaceId] = set()
    for key, value in doc.items():
        with _Collect(errors):
            try:
                ident: InterfaceId = (
                    parse_interface_id(key) if version == 3 else InterfaceName.parse(key)
                )
            except ValueError as exc:
                raise NetConfigError(
                    f"invalid table name: {exc}", source=source, interface=key
                ) from None
            iw = _Where(source, str(ident))
            if ident in seen:
                raise iw.error(None, "configured twice (the same MAC address written two ways)")
            seen.add(ident)
            body = _table(iw, None, value)
            if version == 3:
                devices.append(_device_v3(iw, ident, body))
            else:
                _only(iw, "", body, _V1_KEYS if version == 1 else _ADDR_KEYS)
                device = Interface(name=ident, **_addressing(iw, body, v1=version == 1))
                if version == 2:
                    _check_addressing(iw, device)
                devices.append(device)
    if version == 3:
        _check_v3(source, devices, errors)
    with _Collect(errors):
        _check_primary(source, devices)
    if not devices:
        return None
    return NetConfig(devices=tuple(devices), source=source)


def parse_default_interface(definition: str, source: str = "/proc/cmdline") -> NetConfig:
    """`name:dhcp4[?],dhcp6[?]` (Bottlerocket's `NetConfigV1::from_str`)."""
    w = _Where(source)
    key = "netdog.default-interface"
    name_text, sep, options = definition.partition(":")
    if not sep or not name_text or not options:
        raise w.error(key, "expected 'name:option1,option2' with options dhcp4[?] / dhcp6[?]")
    try:
        name = InterfaceName.parse(name_text)
    except ValueError as exc:
        raise w.error(key, str(exc)) from None
    w.interface = str(name)
    dhcp4: Dhcp4 | None = None
    dhcp6: Dhcp6 | None = None
    for option in options.split(","):
        family, sigils = option[:5], option[5:]
        if family not in ("dhcp4", "dhcp6") or set(sigils) - {"?"}:
            raise w.error(key, "each option must be dhcp4, dhcp4?, dhcp6 or dhcp6?")
        if (family == "dhcp4" and dhcp4) or (family == "dhcp6" and dhcp6):
            raise w.error(key, f"{family} given more than once")
        optional = True if sigils else None
        if family == "dhcp4":
            dhcp4 = Dhcp4(enabled=True, optional=optional, table_form=True)
        else:
            dhcp6 = Dhcp6(enabled=True, optional=optional, table_form=True)
    device = Interface(name=name, dhcp4=dhcp4, dhcp6=dhcp6)
    return NetConfig(devices=(device,), source=source, from_cmdline=True)


def parse_cmdline(cmdline: str, source: str = "/proc/cmdline") -> NetConfig | None:
    """The one `netdog.default-interface=` of a kernel command line, or None."""
    found = [t for t in cmdline.split() if t.startswith(CMDLINE_PREFIX)]
    if not found:
        return None
    if len(found) > 1:
        raise NetConfigError(
            "multiple default interfaces defined, expected 1",
            source=source,
            key="netdog.default-interface",
        )
    return parse_default_interface(found[0][len(CMDLINE_PREFIX) :], source)
