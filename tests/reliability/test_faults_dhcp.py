"""DHCP server absent (issue 10, item 3) on the netdog namespace rig (tests/netdog/rig.py).

tests/netdog/test_apply_rig.py shows an optional interface without a server does not
hold up a required one that gets a lease, and names the interface when a required
lease is missing. Here: the time a missing server costs is bounded by `--timeout`,
nothing claims an address that was never leased, an only-optional config does not
wait for the timeout, and the next run recovers once the server is there.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.netdog.rig import Rig, write_net_toml

pytestmark = pytest.mark.rig


def test_required_without_server_fails_in_bounded_time_then_recovers(rig: Rig, root: Path) -> None:
    s0, c0 = rig.veth("10.214.0.1/24")
    write_net_toml(root, f"version = 2\n[{c0}]\ndhcp4 = true\nprimary = true\n")
    start = time.monotonic()
    failed = rig.kindling("netdog", "apply", "--root", str(root), "--timeout", "3")
    took = time.monotonic() - start
    assert failed.returncode == 1
    assert f"interface {c0}: dhcp4: no lease within 3s" in failed.stderr
    assert took < 3 + 5, took  # the timeout, plus start-up; never the DHCP client's own retries
    assert not (root / "var/lib/kindling/netdog/current_ip").exists()  # nothing claims an address
    addrs = rig.client_json("-4", "addr", "show", "dev", c0)
    assert not any(a.get("family") == "inet" for link in addrs for a in link.get("addr_info", []))

    rig.serve_dhcp(s0, "10.214.0")  # the server comes up: the next run recovers
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "20")
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)["leases"]) == [f"{c0}/dhcp4"]
    assert (root / "var/lib/kindling/netdog/current_ip").read_text().startswith("10.214.0.")


def test_only_optional_interfaces_without_server_do_not_wait_for_the_timeout(rig: Rig, root: Path) -> None:
    _s0, c0 = rig.veth()
    _s1, c1 = rig.veth()
    write_net_toml(root, f"version = 2\n[{c0}.dhcp4]\nenabled = true\noptional = true\n"
                    f"[{c1}.dhcp4]\nenabled = true\noptional = true\n")
    start = time.monotonic()
    done = rig.kindling("netdog", "apply", "--root", str(root), "--json", "--timeout", "30")
    took = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["leases"] == {} or list(report["leases"]) == []
    assert sum(1 for s in report["skipped"] if "optional dhcp4" in s) == 2
    assert took < 15, took
