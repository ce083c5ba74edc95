"""Conformance with Bottlerocket netdog: every net_config fixture's recorded outcome and
the golden systemd-networkd files, byte for byte (one suite over v1-v3, as upstream's
`net_config/test_macros/`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from netdog.errors import NetConfigError
from netdog.model import InterfaceName, MacAddress
from netdog.parse import parse_cmdline, parse_default_interface, parse_net_toml
from netdog.render_networkd import render_networkd
from tests.conftest import conformance_dir
from tests.netdog.netdog_fixtures import expectations, netdog_dir, render_template

REPO = Path(__file__).resolve().parents[2]


def _cases() -> list[Any]:
    found = conformance_dir()
    if found is None:
        return []
    out = []
    for case in expectations(found)["deserialize_config_cases"]:
        for v in case["versions"]:
            out.append(pytest.param(case, v, id=f"{case['dir']}/{case['file']}-v{v}"))
    return out


def _deviate(text: str) -> str:
    """The one deliberate deviation: bond timers carry their unit (DESIGN §5)."""
    return re.sub(
        r"^(MIIMonitorSec|UpDelaySec|DownDelaySec|ARPIntervalSec)=(\d+)$",
        r"\1=\2ms",
        text,
        flags=re.M,
    )


@pytest.mark.parametrize(("case", "version"), _cases())
def test_net_config_fixture_outcome(conformance: Path, case: dict[str, Any], version: int) -> None:
    path = netdog_dir(conformance) / "test_data" / case["dir"] / case["file"]
    text = render_template(path.read_text(), version)
    expect: str = case["expect"]
    if expect.startswith("error"):
        with pytest.raises(NetConfigError) as info:
            parse_net_toml(text, str(path.name))
        assert str(info.value).startswith(path.name + ": ")
        return
    config = parse_net_toml(text, path.name)
    if "has_interfaces() == false" in expect:
        assert config is None
        return
    assert config is not None
    if "primary_interface" in case:
        assert str(config.primary) == case["primary_interface"].split()[0]


def _static_ra(body: str) -> str:
    """The second deviation, undone for the comparison: a static-only interface gets
    `IPv6AcceptRA=false` (docs/CONTRACT-NOTES.md); nothing else may differ."""
    static_only = "\nAddress=" in body and not re.search(r"^DHCP=(yes|ipv4|ipv6)$", body, flags=re.M)
    return body.replace("IPv6AcceptRA=false\n", "", 1) if static_only else body


@pytest.mark.parametrize("version", [2, 3])  # v1 has no static addresses
def test_static_only_interfaces_do_not_wait_for_router_advertisements(conformance: Path, version: int) -> None:
    base = netdog_dir(conformance) / "test_data"
    config = parse_net_toml(render_template((base / "net_config.toml").read_text(), version), "x")
    assert config is not None
    files = render_networkd(config)
    static = [b for b in files.values() if "\nAddress=" in b and not re.search(r"^DHCP=(yes|ipv4|ipv6)$", b, re.M)]
    dynamic = [b for b in files.values() if re.search(r"^DHCP=(yes|ipv4|ipv6)$", b, re.M)]
    assert static, "the fixture has static-only interfaces"
    assert all("\nIPv6AcceptRA=false\n" in b for b in static)
    assert not any("IPv6AcceptRA=false" in b for b in dynamic)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_generated_networkd_files_match_golden(conformance: Path, version: int) -> None:
    base = netdog_dir(conformance) / "test_data"
    text = render_template((base / "net_config.toml").read_text(), version)
    config = parse_net_toml(text, "net_config.toml")
    assert config is not None
    files = render_networkd(config)
    assert files, "nothing rendered"
    for path, body in files.items():
        name = path.rsplit("/", 1)[1]
        assert name.startswith("10-")
        kind = "netdev" if name.endswith(".netdev") else "network"
        golden = (base / "networkd" / kind / name[3:]).read_text()
        assert _static_ra(body) == _deviate(golden), name
    if version == 3:
        names = {p.rsplit("/", 1)[1] for p in files}
        # bonds: 1 netdev + (1 + workers) networks; vlans: netdev + network; vlan parent
        assert {"10-bond0.netdev", "10-eno51.network", "10-eno52.network",
                "10-eno100.network", "10-myvlan.netdev", "10-f874a4d53266.network"} <= names


def test_bond_timer_deviation_is_the_only_difference(conformance: Path) -> None:
    base = netdog_dir(conformance) / "test_data"
    config = parse_net_toml(render_template((base / "net_config.toml").read_text(), 3), "x")
    assert config is not None
    files = render_networkd(config)
    bond0 = files["/etc/systemd/network/10-bond0.netdev"]
    assert "MIIMonitorSec=100ms\nUpDelaySec=200ms\nDownDelaySec=200ms\n" in bond0
    assert "ARPIntervalSec=200ms\n" in files["/etc/systemd/network/10-bond1.netdev"]
    golden = (base / "networkd" / "netdev" / "bond0.netdev").read_text()
    assert "MIIMonitorSec=100\n" in golden  # upstream: seconds, by accident


def _cmdline_strings(conformance: Path) -> list[str]:
    data = expectations(conformance)["e2e_generated_files"]["wicked"]["from_cmdline_strings"]
    return list(data)


@pytest.mark.parametrize("accept_ra", [False, True])
def test_cmdline_golden_files(conformance: Path, accept_ra: bool) -> None:
    base = netdog_dir(conformance) / "test_data" / "networkd" / "network"
    for definition in _cmdline_strings(conformance):
        config = parse_default_interface(definition)
        (path, body), = render_networkd(config, accept_ra=accept_ra).items()
        name = path.rsplit("/", 1)[1][3:]
        stem = name.removesuffix(".network")
        golden = base / (f"{stem}-ra.network" if accept_ra else name)
        assert body == golden.read_text(), definition


def test_default_interface_strings(conformance: Path) -> None:
    data = expectations(conformance)["default_interface_from_str"]
    for good in data["ok"]:
        assert parse_default_interface(good).devices[0].name == InterfaceName("eno1")
    for bad in data["error"]:
        with pytest.raises(NetConfigError):
            parse_default_interface(bad)


def test_cmdline_fixtures(conformance: Path) -> None:
    base = netdog_dir(conformance) / "test_data" / "cmdline"
    ok = parse_cmdline((base / "ok").read_text())
    assert ok is not None
    (dev,) = ok.devices
    assert str(dev.name) == "eth0"
    assert dev.dhcp4 is not None and dev.dhcp4.required
    assert dev.dhcp6 is not None and not dev.dhcp6.required
    assert parse_cmdline((base / "no_interfaces").read_text()) is None
    with pytest.raises(NetConfigError, match="multiple default interfaces"):
        parse_cmdline((base / "multiple_interfaces").read_text())


def test_from_path_cases(conformance: Path) -> None:
    base = netdog_dir(conformance) / "test_data" / "net_config"
    assert parse_net_toml((base / "net_config.toml").read_text(), "a") is not None
    assert parse_net_toml((base / "no_interfaces.toml").read_text(), "b") is None


def test_interface_name_and_mac_vectors(conformance: Path) -> None:
    data = expectations(conformance)
    for good in data["interface_name"]["ok"]:
        InterfaceName.parse(good)
    for bad in data["interface_name"]["error"]:
        with pytest.raises(ValueError):
            InterfaceName.parse(bad)
    for good in data["mac_address"]["ok"]:
        assert MacAddress.parse(good).value == good.lower().replace("-", ":")
    for bad in data["mac_address"]["error"]:
        with pytest.raises(ValueError):
            MacAddress.parse(bad)
