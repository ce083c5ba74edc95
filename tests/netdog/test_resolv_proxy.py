"""DNS drop-ins (networkd), resolved.conf.d, resolv.conf text, and the proxy applier."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kindling.appliers import affected, load_appliers
from kindling.host import Host
from netdog import paths
from netdog.appliers import DNS as DNS_APPLIER
from netdog.appliers import PROXY as APPLIER
from netdog.apply import render_lease_resolv_conf
from netdog.dhcp import Lease4
from netdog.parse import parse_net_toml
from netdog.proxy import apply_proxy, render_proxy_env
from netdog.resolv import (
    DnsSettings,
    dns_from_settings,
    parse_dns_toml,
    render_resolv_conf,
    render_resolved_dropin,
    write_networkd_dns,
)
from tests.netdog.netdog_fixtures import expectations, netdog_dir


def test_resolved_dropin_fixtures(conformance: Path) -> None:
    base = netdog_dir(conformance) / "test_data"
    for case in expectations(conformance)["dns_cases"]:
        if case.get("backend") != "networkd":
            continue
        dns = parse_dns_toml((base / case["config"]).read_text(), case["config"])
        text = render_resolved_dropin(dns)
        allowed = case.get("expect_resolved_dropin_one_of", [case.get("expect_resolved_dropin")])
        assert text in allowed


def test_resolv_conf_fixture(conformance: Path) -> None:
    base = netdog_dir(conformance) / "test_data"
    (case,) = [c for c in expectations(conformance)["dns_cases"]
               if c.get("config") == "dns/netdog.toml" and c.get("backend") == "wicked"]
    dns = parse_dns_toml((base / "dns/netdog.toml").read_text(), "netdog.toml")
    assert render_resolv_conf(dns.search, dns.name_servers) in case["expect_resolv_conf_one_of"]
    assert parse_dns_toml("", "empty") == DnsSettings()


def _bin_dir(tmp_path: Path) -> Path:
    """A `systemctl` that records its arguments: the Host runs it via PATH."""
    d = tmp_path / "bin"
    d.mkdir()
    script = d / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/systemctl.log\n')
    script.chmod(0o755)
    return d


def test_write_networkd_dns(root: Path, tmp_path: Path) -> None:
    host = Host(root, env={"PATH": f"{_bin_dir(tmp_path)}:{os.environ.get('PATH', '')}"})
    config = parse_net_toml(
        'version = 3\n[eno1]\ndhcp4 = true\n["aa:bb:cc:dd:ee:ff"]\ndhcp4 = true\nprimary = true\n',
        "x")
    dns = dns_from_settings({"dns": {"search-list": ["corp.example"]}})
    done = write_networkd_dns(host, dns, config, reload=True)
    net = host.path("/etc/systemd/network")
    primary = (net / "10-aabbccddeeff.network.d/10-dns.conf").read_text()
    assert primary == ("[Network]\nDNSDefaultRoute=true\n[DHCPv4]\nUseDNS=true\nUseDomains=false\n"
                       "[DHCPv6]\nUseDNS=true\nUseDomains=false\n"
                       "[IPv6AcceptRA]\nUseDNS=true\nUseDomains=false\n")
    other = (net / "10-eno1.network.d/10-dns.conf").read_text()
    assert "true" not in other
    assert host.path(paths.RESOLVED_DROPIN).read_text() == "[Resolve]\nDomains=corp.example\n"
    log = (tmp_path / "systemctl.log").read_text().splitlines()
    assert log == ["try-reload-or-restart --no-block systemd-networkd",
                   "try-reload-or-restart --no-block systemd-resolved"]
    assert done
    assert write_networkd_dns(host, dns, config, reload=True) == []  # idempotent, no reload
    assert len((tmp_path / "systemctl.log").read_text().splitlines()) == 2


def test_name_servers_keep_order_and_dedupe() -> None:
    dns = dns_from_settings({"dns": {"name-servers": ["9.9.9.9", "1.1.1.1", "9.9.9.9"]}})
    assert render_resolved_dropin(dns) == "[Resolve]\nDNS=9.9.9.9 1.1.1.1\n"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, "NO_PROXY=localhost,127.0.0.1\nno_proxy=localhost,127.0.0.1\n"),
        (
            {"network": {"https-proxy": "http://proxy:3128", "no-proxy": ["a.example", ".b"]},
             "kubernetes": {"api-server": "https://API.example.com:6443",
                            "cluster-domain": "cluster.local"}},
            "HTTPS_PROXY=http://proxy:3128\nhttps_proxy=http://proxy:3128\n"
            "NO_PROXY=a.example,.b,localhost,127.0.0.1,api.example.com,.cluster.local\n"
            "no_proxy=a.example,.b,localhost,127.0.0.1,api.example.com,.cluster.local\n",
        ),
        (
            {"kubernetes": {"api-server": "https://[2001:db8::1]:443"}},
            "NO_PROXY=localhost,127.0.0.1,[2001:db8::1]\n"
            "no_proxy=localhost,127.0.0.1,[2001:db8::1]\n",
        ),
        (
            {"kubernetes": {"api-server": "k8s.internal:6443"}},
            "NO_PROXY=localhost,127.0.0.1,k8s.internal\nno_proxy=localhost,127.0.0.1,k8s.internal\n",
        ),
    ],
)
def test_render_proxy_env(settings: dict[str, object], expected: str) -> None:
    assert render_proxy_env(settings) == expected


def test_proxy_applier_writes_0600_and_is_registered(host: Host) -> None:
    settings = {"network": {"https-proxy": "http://u:p@proxy:3128"}}
    assert apply_proxy(host, settings) == [f"wrote {paths.PROXY_ENV}"]
    st = host.path(paths.PROXY_ENV).stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert apply_proxy(host, settings) == []
    assert APPLIER in load_appliers()
    assert affected([APPLIER], ["settings.kubernetes.cluster-domain"]) == [APPLIER]
    assert affected([APPLIER], ["settings.motd"]) == []


def test_dns_applier(host: Host) -> None:
    (host.root / "var/lib/kindling").mkdir(parents=True)
    (host.root / "var/lib/kindling/net.toml").write_text("version = 1\n[eth0]\ndhcp4 = true\n")
    done = DNS_APPLIER.apply(host, {"dns": {"name-servers": ["10.0.0.2"]}})
    assert f"wrote {paths.RESOLVED_DROPIN}" in done
    dropin = host.path("/etc/systemd/network/10-eth0.network.d/10-dns.conf").read_text()
    assert "[DHCPv4]\nUseDNS=false\nUseDomains=true\n" in dropin
    assert not any("reloaded" in d for d in done)  # no systemd under this root
    assert DNS_APPLIER in load_appliers()
    assert affected([DNS_APPLIER], ["settings.dns.search-list"]) == [DNS_APPLIER]


def test_lease_dns_with_settings_override() -> None:
    lease = Lease4("eth0", "10.0.0.5", 24, ("10.0.0.1",), ("10.0.0.1", "10.0.0.9"),
                   "corp.example", (), 1500, 120, 0.0)
    assert render_lease_resolv_conf(None, [lease]) == (
        "search corp.example\nnameserver 10.0.0.1\nnameserver 10.0.0.9\n")
    dns = dns_from_settings({"dns": {"name-servers": ["1.1.1.1"]}})
    assert render_lease_resolv_conf(dns, [lease]) == (
        "search corp.example\nnameserver 1.1.1.1\n")  # servers from settings, search from lease
