"""Boot stages, unit files (systemd-analyze verify) and the CLI wiring end to end."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.api.service import SettingsService
from kindling.boot import BootContext, load_stages
from kindling.host import FakeClock, Host
from kindling.log import get
from kindling.retry import RetryBudgetExceeded
from netdog import paths
from netdog.stage import GENERATE_STAGE, STATUS_STAGE
from tests.conftest import need_root

REPO = Path(__file__).resolve().parents[2]
KINDLING = str(Path(sys.executable).parent / "kindling")
UNITS = [
    "kindling-generate-network-config.service",
    "kindling-write-network-status.service",
    "kindling-netdog-apply.service",
    "kindling-netdog-dhcp.service",
]


def _plant(root: Path, path: str, text: str) -> None:
    p = root / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_stages_registered_in_network_band() -> None:
    stages = {s.name: s for s in load_stages()}
    assert stages["generate-network-config"] == GENERATE_STAGE
    assert stages["write-network-status"] == STATUS_STAGE
    assert all(20 <= s.order <= 29 for s in (GENERATE_STAGE, STATUS_STAGE))
    assert STATUS_STAGE.after == ("generate-network-config",)


def test_generate_stage_and_status_stage(host: Host) -> None:
    ctx = BootContext(host, "metal", get("test"))
    assert GENERATE_STAGE.run(ctx).status == "skipped"
    assert STATUS_STAGE.run(ctx).status == "skipped"
    _plant(host.root, paths.NET_TOML, "version = 1\n[eth0]\ndhcp4 = true\n")
    result = GENERATE_STAGE.run(ctx)
    assert result.status == "ok" and "primary eth0" in result.detail


@pytest.fixture
def netns() -> Iterator[str]:
    """An empty network namespace of our own: netlink reads never hit the host's."""
    need_root()
    name = f"kdT{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_status_stage_waits_on_host_clock_then_fails(root: Path, netns: str) -> None:
    clock = FakeClock()
    host = Host(root, clock=clock, env={}, netns=netns)
    _plant(root, paths.PRIMARY_INTERFACE, "kd-no-such0")
    with pytest.raises(RetryBudgetExceeded, match="kd-no-such0"):
        STATUS_STAGE.run(BootContext(host, "metal", get("test")))
    assert sum(clock.sleeps) <= 60 and len(clock.sleeps) > 3


def test_status_stage_reads_netlink_in_namespace(root: Path, netns: str) -> None:
    run = ["ip", "-n", netns]
    subprocess.run([*run, "link", "add", "kd0", "type", "veth", "peer", "name", "kd1"],
                   check=True)
    subprocess.run([*run, "addr", "add", "192.0.2.44/24", "dev", "kd0"], check=True)
    subprocess.run([*run, "addr", "add", "2001:db8::44/64", "dev", "kd0"], check=True)
    host = Host(root, clock=FakeClock(), env={}, netns=netns)
    _plant(root, paths.PRIMARY_INTERFACE, "kd0")
    result = STATUS_STAGE.run(BootContext(host, "metal", get("test")))
    assert result.status == "ok"
    assert (root / paths.CURRENT_IP.lstrip("/")).read_text() == "192.0.2.44"


@pytest.mark.parametrize("unit", UNITS)
def test_units_verify(unit: str, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    for name in UNITS:  # installed together, as `kindling units install` would
        text = (REPO / "kindling" / "units" / name).read_text()
        assert "ExecStart=@KINDLING@ netdog " in text
        (tmp_path / name).write_text(text.replace("@KINDLING@", KINDLING))
    others = [str(tmp_path / n) for n in UNITS if n != unit]
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit), *others],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_unit_ordering() -> None:
    gen = (REPO / "kindling/units/kindling-generate-network-config.service").read_text()
    assert "Before=network-pre.target" in gen and "RequiredBy=network-pre.target" in gen
    assert "DefaultDependencies=no" in gen  # else it waits for basic.target, networkd behind it
    status = (REPO / "kindling/units/kindling-write-network-status.service").read_text()
    # Bottlerocket's order, and kindling boot's: online link → status → early-boot-config.
    assert "After=systemd-networkd-wait-online.service" in status
    assert "Before=kindling-early-boot-config.service" in status
    assert not [line for line in status.splitlines()
                if line.startswith("After=") and "network-online.target" in line]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINDLING, *args], capture_output=True, text=True, check=False)


def test_cli_generate_validate_node_ip(root: Path) -> None:
    _plant(root, paths.NET_TOML, "version = 2\n[eno1]\ndhcp4 = true\n")
    done = _run("netdog", "generate-net-config", "--root", str(root), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["written"]
    assert (root / "etc/systemd/network/10-eno1.network").exists()
    done = _run("netdog", "validate", "--root", str(root))
    assert done.returncode == 0 and "primary eno1" in done.stdout
    _plant(root, paths.CURRENT_IP, "2001:db8::7")
    done = _run("netdog", "node-ip", "--root", str(root))
    assert done.returncode == 0 and json.loads(done.stdout) == "2001:db8::7"
    done = _run("netdog", "generate-hostname", "--root", str(root), "--platform", "metal",
                "--no-reverse-dns")
    assert json.loads(done.stdout) == "2001-db8--7"


def test_cli_bad_net_toml_exit_1_names_interface_key(root: Path) -> None:
    _plant(root, paths.NET_TOML, "version = 3\n[bond0]\nkind = 'bond'\nmode = 'x'\n")
    done = _run("netdog", "generate-net-config", "--root", str(root))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "kindling netdog: /var/lib/kindling/net.toml: interface bond0: interfaces: "
        "required for a bond")
    assert not (root / "etc").exists()


def test_cli_usage_exit_2() -> None:
    assert _run("netdog").returncode == 2
    assert _run("netdog", "frobnicate").returncode == 2


def test_cli_status_from_networkctl_capture(root: Path, conformance: Path) -> None:
    _plant(root, paths.PRIMARY_INTERFACE, "eth0")
    capture = conformance / "bottlerocket/netdog/test_data/networkd/" \
        "has_search_domains_networkctl_output.json"
    done = _run("netdog", "write-primary-interface-status", "--root", str(root),
                "--networkctl-json", str(capture))
    assert done.returncode == 0, done.stderr
    ip = (root / paths.CURRENT_IP.lstrip("/")).read_text()
    assert ipaddress.ip_address(ip) == ipaddress.ip_address("172.31.28.92")


def test_cli_write_resolv_conf_from_netdog_toml(root: Path, conformance: Path) -> None:
    src = conformance / "bottlerocket/netdog/test_data/dns/single_nameserver_netdog.toml"
    _plant(root, "/etc/netdog.toml", src.read_text())
    done = _run("netdog", "write-resolv-conf", "--root", str(root), "--netdog-toml",
                "/etc/netdog.toml", "--no-reload")
    assert done.returncode == 0, done.stderr
    assert (root / paths.RESOLVED_DROPIN.lstrip("/")).read_text() == (
        "[Resolve]\nDNS=1.2.3.4\nDomains=us-west-2.compute.internal\n")


def test_help_does_not_import_netdog() -> None:
    code = ("import sys; from kindling.cli import main; main(['--help']); "
            "print([m for m in sys.modules if m.startswith(('netdog', 'pyroute2'))])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().endswith("[]")


def test_settings_commit_runs_dns_and_proxy_appliers(host: Host) -> None:
    _plant(host.root, paths.NET_TOML, "version = 1\n[eth0]\ndhcp4 = true\n")
    report = SettingsService(host).set_tree(
        {"dns": {"name-servers": ["10.0.0.2", "10.0.0.3"]},
         "network": {"https-proxy": "http://proxy.corp:3128"}},
        tx="netdog-test", source="test")
    assert report.ok
    resolved = host.path(paths.RESOLVED_DROPIN).read_text()
    assert resolved == "[Resolve]\nDNS=10.0.0.2 10.0.0.3\n"
    assert "HTTPS_PROXY=http://proxy.corp:3128\n" in host.path(paths.PROXY_ENV).read_text()
    done = _run("netdog", "write-resolv-conf", "--root", str(host.root), "--no-reload")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unchanged"
