"""write-primary-interface-status and node-ip on a temporary root; the networkctl JSON
fixtures (netlink itself is exercised in the namespace rig, test_apply_rig.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

import pytest

from kindling.errors import HostError, InputError
from kindling.host import Host
from netdog import paths
from netdog.model import IpAddr
from netdog.status import (
    choose_primary_address,
    node_ip,
    parse_networkctl_json,
    primary_interface_name,
    write_primary_interface_status,
)
from tests.netdog.netdog_fixtures import expectations, netdog_dir

Snap = Callable[[Path], dict[str, bytes]]


def _plant(host: Host, path: str, text: str) -> None:
    p = host.path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


@pytest.mark.parametrize("fixture", ["no_search_domains", "has_search_domains"])
def test_networkctl_fixtures(conformance: Path, fixture: str) -> None:
    cases = {c.get("fixture"): c for c in expectations(conformance)["networkctl_status_cases"]}
    name = f"networkd/{fixture}_networkctl_output.json"
    text = (netdog_dir(conformance) / "test_data" / name).read_text()
    addrs = parse_networkctl_json(text, name)
    assert str(choose_primary_address(addrs, "eth0")) == cases[name]["expect_primary_address"]


def test_first_ipv4_else_first_address_and_link_local_last() -> None:
    a = [ipaddress.ip_address(x) for x in ("fe80::1", "2001:db8::5", "10.1.2.3")]
    assert str(choose_primary_address(a, "x")) == "10.1.2.3"
    b: list[IpAddr] = [ipaddress.ip_address(x) for x in ("fe80::1", "2001:db8::5")]
    assert str(choose_primary_address(b, "x")) == "2001:db8::5"
    c: list[IpAddr] = [ipaddress.ip_address("fe80::1")]
    assert str(choose_primary_address(c, "x")) == "fe80::1"
    with pytest.raises(HostError, match="interface x: has no IP address"):
        choose_primary_address([], "x")


def test_bad_networkctl_json_names_source() -> None:
    with pytest.raises(InputError, match=r"cap\.json"):
        parse_networkctl_json('{"Addresses": [{"Address": [1, 2, 3]}]}', "cap.json")
    with pytest.raises(InputError, match=r"cap\.json"):
        parse_networkctl_json("not json", "cap.json")


def test_write_status_records_ip_sysctls_and_link(host: Host) -> None:
    _plant(host, paths.PRIMARY_INTERFACE, "eth0")
    for key in ("net/ipv4/conf/eth0/rp_filter", "net/ipv6/conf/eth0/accept_ra"):
        _plant(host, f"/proc/sys/{key}", "1\n")
    seen: list[str] = []

    def reader(ifname: str) -> list[IpAddr]:
        seen.append(ifname)
        return [ipaddress.ip_address("2001:db8::9"), ipaddress.ip_address("192.0.2.7")]

    done = write_primary_interface_status(host, reader)
    assert seen == ["eth0"]
    assert host.path(paths.CURRENT_IP).read_text() == "192.0.2.7"
    assert host.path("/proc/sys/net/ipv4/conf/eth0/rp_filter").read_text() == "2\n"
    assert host.path("/proc/sys/net/ipv6/conf/eth0/accept_ra").read_text() == "0\n"
    assert host.path(paths.SYSCTL_MARKER).exists()
    link = host.entry(paths.RESOLV_CONF_LINK)  # the link itself, not where it leads
    assert link.is_symlink() and str(link.readlink()) == paths.RESOLVED_RESOLV_CONF
    assert any("applied" in d for d in done)
    assert write_primary_interface_status(host, reader) == []  # idempotent
    assert node_ip(host) == "192.0.2.7"


def test_primary_by_mac_resolves_through_sysfs(host: Host) -> None:
    _plant(host, paths.PRIMARY_MAC_ADDRESS, "52:54:00:79:99:c6")
    _plant(host, "/sys/class/net/lo/address", "00:00:00:00:00:00\n")
    _plant(host, "/sys/class/net/ens5/address", "52:54:00:79:99:C6\n")
    assert primary_interface_name(host) == "ens5"


def test_no_primary_recorded_is_a_clear_error(host: Host, root: Path, tree_snapshot: Snap) -> None:
    before = tree_snapshot(root)
    with pytest.raises(HostError, match="generate-net-config"):
        write_primary_interface_status(host, lambda _n: [])
    assert tree_snapshot(root) == before


def test_node_ip_rejects_garbage(host: Host) -> None:
    _plant(host, paths.CURRENT_IP, "not-an-ip")
    with pytest.raises(InputError, match=paths.CURRENT_IP):
        node_ip(host)
