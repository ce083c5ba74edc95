"""generate-net-config on a temporary root: files, state, idempotence, nothing written
on bad input, and the plan (RecordingHost) contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kindling.host import Host, RecordingHost
from netdog import paths
from netdog.errors import NetConfigError
from netdog.generate import generate_net_config
from tests.netdog.netdog_fixtures import netdog_dir, render_template

Snap = Callable[[Path], dict[str, bytes]]


def _plant(host: Host, path: str, text: str) -> None:
    p = host.path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_generate_from_net_toml_writes_files_and_state(host: Host, conformance: Path) -> None:
    text = render_template((netdog_dir(conformance) / "test_data/net_config.toml").read_text(), 3)
    _plant(host, paths.NET_TOML, text)
    report = generate_net_config(host)
    assert report.source == paths.NET_TOML and report.primary == "eno2"
    net = host.path("/etc/systemd/network")
    assert (net / "10-bond0.netdev").read_text().startswith("[NetDev]\nName=bond0\n")
    assert (net / "10-f874a4d53264.network").exists()
    assert host.path(paths.PRIMARY_INTERFACE).read_text() == "eno2"
    assert not host.path(paths.PRIMARY_MAC_ADDRESS).exists()
    assert oct(host.path(paths.STATE_DIR).stat().st_mode & 0o777) == "0o700"
    sysctl = host.path(paths.PRIMARY_SYSCTL_CONF).read_text()
    assert sysctl.startswith("-net.ipv4.conf.eno2.rp_filter = 2\n")
    assert "-net.ipv6.conf.eno2.accept_ra_mtu = 0\n" in sysctl

    again = generate_net_config(host)
    assert again.written == [] and len(again.unchanged) == len(report.unchanged) + len(
        [w for w in report.written if w.startswith("/etc/systemd")]
    )


def test_override_wins_and_mac_primary(host: Host) -> None:
    _plant(host, paths.NET_TOML, "version = 2\n[eno1]\ndhcp4 = true\n")
    _plant(host, paths.NET_TOML_OVERRIDE,
           'version = 3\n["52-54-00-79-99-C6"]\ndhcp4 = true\nprimary = true\n')
    _plant(host, paths.PRIMARY_INTERFACE, "eno1")
    report = generate_net_config(host)
    assert report.source == paths.NET_TOML_OVERRIDE
    assert host.path(paths.PRIMARY_MAC_ADDRESS).read_text() == "52:54:00:79:99:c6"
    assert not host.path(paths.PRIMARY_INTERFACE).exists()
    text = host.path("/etc/systemd/network/10-5254007999c6.network").read_text()
    assert (text.startswith("[Match]\nPermanentMACAddress=52:54:00:79:99:c6\n"))


def test_cmdline_source_accepts_ra_and_disables_dad(host: Host, conformance: Path) -> None:
    _plant(host, paths.KERNEL_CMDLINE,
           (netdog_dir(conformance) / "test_data/cmdline/ok").read_text())
    generate_net_config(host)
    text = host.path("/etc/systemd/network/10-eth0.network").read_text()
    assert "IPv6AcceptRA=true\nIPv6DuplicateAddressDetection=0\n" in text
    assert "[DHCPv6]\nWithoutRA=solicit\n" in text
    assert host.path(paths.PRIMARY_INTERFACE).read_text() == "eth0"


def test_no_configuration_writes_nothing(host: Host, root: Path, tree_snapshot: Snap) -> None:
    _plant(host, paths.KERNEL_CMDLINE, "quiet ro\n")
    before = tree_snapshot(root)
    assert generate_net_config(host).source is None
    assert tree_snapshot(root) == before


@pytest.mark.parametrize(
    "bad",
    [
        "version = 2\n[eno1]\ndhcp4 = true\n[eno2]\n",
        "version = 3\n[b]\nkind = 'bond'\n",
        "version = 9\n",
        "not toml at all [",
    ],
)
def test_bad_input_changes_nothing(
    host: Host, root: Path, tree_snapshot: Snap, bad: str
) -> None:
    _plant(host, paths.NET_TOML, bad)
    _plant(host, paths.PRIMARY_INTERFACE, "old0")
    _plant(host, "/etc/systemd/network/10-old0.network", "[Match]\nName=old0\n")
    before = tree_snapshot(root)
    with pytest.raises(NetConfigError) as info:
        generate_net_config(host)
    assert info.value.source == paths.NET_TOML
    assert tree_snapshot(root) == before


def test_plan_records_and_changes_nothing(
    plan_host: RecordingHost, root: Path, tree_snapshot: Snap
) -> None:
    _plant(plan_host, paths.NET_TOML, "version = 1\n[eno1]\ndhcp4 = true\n")
    before = tree_snapshot(root)
    generate_net_config(plan_host)
    assert tree_snapshot(root) == before
    assert any("10-eno1.network" in a for a in plan_host.actions)
    assert any(paths.PRIMARY_INTERFACE in a for a in plan_host.actions)
