"""`kindling netdog apply` on real rigs (RIGS.md): network namespaces, veth pairs and
dnsmasq; the address, default route, MTU, resolv.conf and current_ip must really
appear. VLAN and bond tests need kernel support and skip (saying so) without it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.netdog.rig import KINDLING, Rig, _ip, kernel_supports, write_net_toml

pytestmark = pytest.mark.rig


def _addrs(rig: Rig, dev: str) -> list[str]:
    (link,) = rig.client_json("addr", "show", "dev", dev)
    return [f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"]


def test_dhcp_and_static_apply(rig: Rig, root: Path) -> None:
    s0, c0 = rig.veth("10.213.0.1/24")
    _s1, c1 = rig.veth("10.214.0.1/24")
    rig.serve_dhcp(s0, "10.213.0", "--dhcp-option=option:domain-name,corp.example",
                   "--dhcp-option=option:mtu,1400")
    write_net_toml(root, f"version = 2\n[{c1}.static4]\naddresses = [\"10.214.0.2/24\"]\n"
                    f"[[{c1}.route]]\nto = \"10.99.0.0/16\"\nvia = \"10.214.0.1\"\n"
                    f"route-metric = 50\n[{c0}]\ndhcp4 = true\nprimary = true\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (leased,) = _addrs(rig, c0)
    assert leased.startswith("10.213.0.") and leased.endswith("/24")
    assert report["leases"] == {f"{c0}/dhcp4": leased}
    assert _addrs(rig, c1) == ["10.214.0.2/24"]
    routes = rig.client_json("route", "show")
    assert {"dst": "default", "gateway": "10.213.0.1", "dev": c0} in [
        {k: r.get(k) for k in ("dst", "gateway", "dev")} for r in routes]
    assert any(r["dst"] == "10.99.0.0/16" and r.get("gateway") == "10.214.0.1"
               and r.get("metric") == 50 for r in routes)
    (link,) = rig.client_json("link", "show", "dev", c0)
    assert link["mtu"] == 1400
    assert (root / "etc/resolv.conf").read_text() == "search corp.example\nnameserver 10.213.0.1\n"
    ip = leased.split("/")[0]
    assert (root / "var/lib/kindling/netdog/current_ip").read_text() == ip
    assert (root / "var/lib/kindling/netdog/primary_interface").read_text() == c0

    again = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "10")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["written"] == []
    assert _addrs(rig, c0) == [leased]


def test_optional_interface_does_not_block(rig: Rig, root: Path) -> None:
    s0, c0 = rig.veth("10.213.0.1/24")
    _s1, c1 = rig.veth()
    rig.serve_dhcp(s0, "10.213.0")
    write_net_toml(root, f"version = 2\n[{c0}]\ndhcp4 = true\n[{c1}.dhcp4]\nenabled = true\n"
                    "optional = true\n")
    start = time.monotonic()
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "20")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < 10
    report = json.loads(done.stdout)
    assert list(report["leases"]) == [f"{c0}/dhcp4"]
    assert any(s.startswith(f"{c1}: optional dhcp4") for s in report["skipped"])


def test_required_lease_missing_fails_naming_interface(rig: Rig, root: Path) -> None:
    _s0, c0 = rig.veth()
    write_net_toml(root, f"version = 1\n[{c0}]\ndhcp4 = true\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--timeout", "2")
    assert done.returncode == 1
    assert f"interface {c0}: dhcp4: no lease within 2s" in done.stderr


def test_missing_link_fails_before_any_change(rig: Rig, root: Path) -> None:
    _s0, c0 = rig.veth()
    write_net_toml(root, f"version = 1\n[{c0}]\ndhcp4 = true\n[nope0]\ndhcp4 = true\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--timeout", "2")
    assert done.returncode == 1 and "interface nope0: no such link" in done.stderr
    (link,) = rig.client_json("link", "show", "dev", c0)
    assert "UP" not in link["flags"]
    assert not (root / "var/lib/kindling/netdog").exists()


def test_cmdline_dhcp6_optional_is_reported(rig: Rig, root: Path) -> None:
    s0, c0 = rig.veth("10.213.0.1/24")
    rig.serve_dhcp(s0, "10.213.0")
    (root / "proc").mkdir()
    (root / "proc/cmdline").write_text(f"ro netdog.default-interface={c0}:dhcp4,dhcp6?\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"] == "/proc/cmdline"
    (skip,) = report["skipped"]
    assert skip.startswith(f"{c0}: optional dhcp6: interface {c0}: dhcp6: no lease")
    assert list(report["leases"]) == [f"{c0}/dhcp4"]


def test_optional_dhcp6_does_not_delay_the_required_ipv4_address(rig: Rig, root: Path) -> None:
    """Issue 20: the IPv4 address is configured while the optional DHCPv6 (no server
    here) is still being asked, not after it gives up."""
    s0, c0 = rig.veth("10.213.0.1/24")
    rig.serve_dhcp(s0, "10.213.0")
    (root / "proc").mkdir()
    (root / "proc/cmdline").write_text(f"ro netdog.default-interface={c0}:dhcp4,dhcp6?\n")
    proc = subprocess.Popen(["ip", "netns", "exec", rig.client, KINDLING, "netdog", "apply", "--root", str(root),
                             "--json", "--timeout", "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen_while_running: list[str] = []
    while proc.poll() is None and not seen_while_running:
        seen_while_running = [a for a in _addrs(rig, c0) if a.startswith("10.213.0.")]
        time.sleep(0.02)
    still_asking = proc.poll() is None  # DHCPv6 gets 3 s of grace: a delayed IPv4 appears at the very end
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert seen_while_running and still_asking, "the IPv4 address appeared only as the optional DHCPv6 was given up"
    (skip,) = json.loads(out)["skipped"]
    assert skip.startswith(f"{c0}: optional dhcp6: ")


_APPLY_IMPORTS = """
import sys
from kindling.cli import main
code = main(["netdog", "apply", "--root", sys.argv[1], "--timeout", "10"])
unwanted = ("sqlite3", "threading", "queue", "asyncio", "pyroute2", "argparse", "kindling.cli_common", "socket",
            "netdog.render_networkd")
print(sorted(m for m in unwanted if m in sys.modules))
"""


def test_dhcp4_apply_imports_only_what_the_lease_needs(rig: Rig, root: Path) -> None:
    """Issue 20: one required DHCPv4 lease on a first boot (no datastore) is obtained on
    the calling thread, the datastore's path is known without importing sqlite3, and
    the plain options are read without argparse, the sockets are the C type (no `socket`),
    and no networkd renderer."""
    s0, c0 = rig.veth("10.213.0.1/24")
    rig.serve_dhcp(s0, "10.213.0")
    write_net_toml(root, f"version = 2\n[{c0}]\ndhcp4 = true\nprimary = true\n")
    done = subprocess.run(["ip", "netns", "exec", rig.client, sys.executable, "-c", _APPLY_IMPORTS, str(root)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    assert any(a.startswith("10.213.0.") for a in _addrs(rig, c0))


def test_dhcpv6_lease_applied(rig: Rig, root: Path) -> None:
    s0, c0 = rig.veth("2001:db8:1::1/64")
    rig.serve_dhcp6(s0, "2001:db8:1::")
    _s1, c1 = rig.veth()
    write_net_toml(root, f"version = 1\n[{c0}]\ndhcp6 = true\n[{c1}]\ndhcp6 = true\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "3")
    assert done.returncode == 1  # c1 is required and has no server ...
    assert f"interface {c1}: dhcp6: no lease within 3s" in done.stderr
    (link,) = rig.client_json("addr", "show", "dev", c0)  # ... c0 was still configured
    v6 = [a for a in link["addr_info"] if a["family"] == "inet6" and a["scope"] == "global"]
    assert len(v6) == 1 and v6[0]["prefixlen"] == 128
    assert v6[0]["local"].startswith("2001:db8:1::")
    assert 0 < v6[0]["valid_life_time"] <= 120
    assert (root / "etc/resolv.conf").read_text() == (
        "search corp6.example\nnameserver 2001:db8:1::1\n")
    assert (root / "var/lib/kindling/netdog/current_ip").read_text() == v6[0]["local"]
    kept = json.loads((root / f"var/lib/kindling/netdog/leases/{c0}.lease6.json").read_text())
    assert kept["address"] == v6[0]["local"] and kept["t1"] > 0


def test_plan_changes_nothing(rig: Rig, root: Path) -> None:
    s0, c0 = rig.veth("10.213.0.1/24")
    rig.serve_dhcp(s0, "10.213.0")
    write_net_toml(root, f"version = 2\n[{c0}.static4]\naddresses = [\"10.213.0.7/24\"]\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--plan", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["plan"]
    assert f"netlink address {c0} 10.213.0.7/24" in plan
    assert f"netlink up {c0}" in plan
    assert _addrs(rig, c0) == []
    assert not (root / "var/lib/kindling/netdog").exists()


def _need(kind: str, why: str) -> None:
    if kernel_supports(kind):
        return
    if os.environ.get("KINDLING_REQUIRE_VLAN_BOND"):  # inside the qemu guest: must work
        pytest.fail(f"guest kernel cannot create {kind} links")
    pytest.skip(f"this kernel has no {why}; test_vlan_bond_vm.py runs it in a qemu guest")


def test_vlan_over_veth_with_dhcp(rig: Rig, root: Path) -> None:
    _need("vlan", "802.1Q VLAN support (CONFIG_VLAN_8021Q off)")
    s0, c0 = rig.veth()
    _ip("-n", rig.server, "link", "add", "link", s0, "name", "sv", "type", "vlan", "id", "42")
    _ip("-n", rig.server, "addr", "add", "10.215.0.1/24", "dev", "sv")
    _ip("-n", rig.server, "link", "set", "sv", "up")
    rig.serve_dhcp("sv", "10.215.0")
    write_net_toml(root, f"version = 3\n[cv]\nkind = \"vlan\"\ndevice = \"{c0}\"\nid = 42\n"
                    "dhcp4 = true\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    assert _addrs(rig, "cv")[0].startswith("10.215.0.")
    (link,) = rig.client_json("-d", "link", "show", "dev", "cv")
    assert link["linkinfo"]["info_data"]["id"] == 42


def test_active_backup_bond_over_veths(rig: Rig, root: Path) -> None:
    _need("bond", "bonding driver (CONFIG_BONDING off)")
    s0, c0 = rig.veth("10.216.0.1/24")
    _s1, c1 = rig.veth()
    rig.serve_dhcp(s0, "10.216.0")
    write_net_toml(root, f"version = 3\n[bd0]\nkind = \"bond\"\nmode = \"active-backup\"\n"
                    f"interfaces = [\"{c0}\", \"{c1}\"]\ndhcp4 = true\n[bd0.monitoring]\n"
                    "miimon-frequency-ms = 100\nmiimon-updelay-ms = 200\n"
                    "miimon-downdelay-ms = 200\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "15")
    assert done.returncode == 0, done.stderr
    (bond,) = rig.client_json("-d", "link", "show", "dev", "bd0")
    data = bond["linkinfo"]["info_data"]
    assert data["mode"] == "active-backup" and data["miimon"] == 100
    for worker in (c0, c1):
        (w,) = rig.client_json("link", "show", "dev", worker)
        assert w["master"] == "bd0"
    assert _addrs(rig, "bd0")[0].startswith("10.216.0.")


def _wait_for(pred: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_dhcp_service_reboots_lease_renews_and_keeps_it(rig: Rig, root: Path) -> None:
    s0, c0 = rig.veth("10.217.0.1/24")
    log = rig.serve_dhcp(s0, "10.217.0")
    write_net_toml(root, f"version = 1\n[{c0}]\ndhcp4 = true\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    (leased,) = _addrs(rig, c0)
    kept = root / f"var/lib/kindling/netdog/leases/{c0}.lease.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert json.loads(kept.read_text())  # whole: written through the Host (temp file, rename)
    _ip("-n", rig.client, "addr", "flush", "dev", c0)
    daemon = subprocess.Popen(["ip", "netns", "exec", rig.client, KINDLING, "netdog", "dhcp",
                               "--root", str(root)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        # INIT-REBOOT from the kept lease: the same address comes back
        assert _wait_for(lambda: _addrs(rig, c0) == [leased]), daemon.stderr
        acks = log.read_text().count("DHCPACK")
        daemon.send_signal(signal.SIGUSR1)  # renew now (unicast, as at T1)
        assert _wait_for(lambda: log.read_text().count("DHCPACK") > acks)
        assert _addrs(rig, c0) == [leased]
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
        assert _addrs(rig, c0) == [leased]  # not released on stop
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


def test_plan_for_bond_and_vlan_needs_no_kernel_support(rig: Rig, root: Path) -> None:
    _s0, c0 = rig.veth()
    _s1, c1 = rig.veth()
    _s2, c2 = rig.veth()
    write_net_toml(root, f"version = 3\n[bd0]\nkind = \"bond\"\nmode = \"active-backup\"\n"
                    f"interfaces = [\"{c0}\", \"{c1}\"]\ndhcp4 = true\n[bd0.monitoring]\n"
                    "arpmon-interval-ms = 200\narpmon-validate = \"all\"\n"
                    "arpmon-targets = [\"10.0.0.1\"]\n"
                    f"[cv]\nkind = \"vlan\"\ndevice = \"{c2}\"\nid = 42\n"
                    "[cv.static4]\naddresses = [\"10.42.0.2/24\"]\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--plan", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["plan"]
    for expected in ("netlink add bond bd0 active-backup", f"netlink enslave {c0} to bd0",
                     f"netlink enslave {c1} to bd0", "netlink bond bd0 primary",
                     "netlink add vlan cv id 42", "netlink address cv 10.42.0.2/24",
                     "dhcp4 bd0"):
        assert expected in plan, plan
    names = {link["ifname"] for link in rig.client_json("link", "show")}
    assert names == {"lo", c0, c1, c2}


def test_dhcp_service_renews_dhcpv6_at_t1(rig: Rig, root: Path) -> None:
    s0, c0 = rig.veth("2001:db8:2::1/64")
    log = rig.serve_dhcp6(s0, "2001:db8:2::")
    write_net_toml(root, f"version = 1\n[{c0}]\ndhcp6 = true\n")
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    kept_path = root / f"var/lib/kindling/netdog/leases/{c0}.lease6.json"
    kept = json.loads(kept_path.read_text())
    kept["obtained"] = time.time() - kept["t1"] - 1  # as if T1 had just passed
    kept_path.write_text(json.dumps(kept))
    daemon = subprocess.Popen(["ip", "netns", "exec", rig.client, KINDLING, "netdog", "dhcp",
                               "--root", str(root)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: "DHCPRENEW" in log.read_text())
        assert _wait_for(lambda: json.loads(kept_path.read_text())["obtained"]
                         > kept["obtained"] + 30)
        renewed = json.loads(kept_path.read_text())
        assert renewed["address"] == kept["address"]
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


_APPLY_SYNCS = """
import json, os, sys
events = []
real_fsync, real_replace = os.fsync, os.replace

def fsync(fd):
    name = os.readlink(f"/proc/self/fd/{fd}").replace(sys.argv[1], "")
    events.append("fsync " + name)
    real_fsync(fd)

def replace(src, dst, **kw):
    events.append("write " + str(dst).replace(sys.argv[1], ""))
    real_replace(src, dst, **kw)

os.fsync, os.replace = fsync, replace
from kindling.cli import main
code = main(["netdog", "apply", "--root", sys.argv[1], "--timeout", sys.argv[2]])
print(json.dumps([code, events]))
"""


@pytest.mark.parametrize("leased", [True, False], ids=["lease", "no-lease"])
def test_apply_makes_its_files_durable_with_one_barrier(rig: Rig, root: Path, leased: bool) -> None:
    """Every file `netdog apply` writes is fsynced, with each directory once, after the
    last write and before the command returns — also when the required lease fails."""
    s0, c0 = rig.veth("10.213.0.1/24")
    if leased:
        rig.serve_dhcp(s0, "10.213.0")
    write_net_toml(root, f"version = 2\n[{c0}]\ndhcp4 = true\nprimary = true\n")
    done = subprocess.run(["ip", "netns", "exec", rig.client, sys.executable, "-c", _APPLY_SYNCS, str(root),
                           "10" if leased else "1"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    code, events = json.loads(done.stdout.splitlines()[-1])
    state, sysctl = "/var/lib/kindling/netdog", "/etc/sysctl.d"
    files = [f"{state}/primary_interface", f"{sysctl}/90-primary_interface.conf"]
    dirs = [state, sysctl]
    if leased:  # the lease kept for `netdog dhcp`; dnsmasq offers itself as the name server
        files += [f"{state}/leases/{c0}.lease.json", "/etc/resolv.conf", f"{state}/current_ip"]
        dirs += [f"{state}/leases", "/etc"]
    assert code == (0 if leased else 1)
    assert [e for e in events if e.startswith("write ")] == [f"write {f}" for f in files]
    assert events[len(files):] == [f"fsync {f}" for f in [*files, *dirs]]


_LINK_DUMPS = """
import sys
from kindling.host import host_from_env
from netdog.apply import apply_config
from netdog.netlink import RealNetlink

class Counting(RealNetlink):
    dumps = 0

    def links(self):
        Counting.dumps += 1
        return super().links()

host = host_from_env(sys.argv[1])
nl = Counting(host)
try:
    report = apply_config(host, timeout=10, netlink=nl)
finally:
    nl.close()
print(Counting.dumps, sorted(report.leases))
"""


def test_a_plain_node_dumps_its_links_once(rig: Rig, root: Path) -> None:
    """Issue 20: bringing the (down) interface up changes only its flag in the link
    table, so the lease is asked after one link dump, not two."""
    s0, c0 = rig.veth("10.213.0.1/24")
    rig.serve_dhcp(s0, "10.213.0")
    write_net_toml(root, f"version = 2\n[{c0}]\ndhcp4 = true\nprimary = true\n")
    (link,) = rig.client_json("link", "show", "dev", c0)
    assert "UP" not in link["flags"]
    done = subprocess.run(["ip", "netns", "exec", rig.client, sys.executable, "-c", _LINK_DUMPS, str(root)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == f"1 ['{c0}/dhcp4']"
    (link,) = rig.client_json("link", "show", "dev", c0)
    assert "UP" in link["flags"]
