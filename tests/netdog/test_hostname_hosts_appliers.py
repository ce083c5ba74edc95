"""The `hostname` and `hosts` appliers on a temp root: /etc/hostname and the kernel
hostname, /etc/hosts with Bottlerocket's merge rule, read back by glibc itself
(`getent hosts` in a private mount namespace where the generated file is /etc/hosts)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kindling.errors import SettingsError
from netdog.appliers import HOSTNAME, HOSTS
from netdog.etc_hosts import render_hosts
from netdog.hostname import usable_hostname
from tests.kindling.appliers_rig import host_with_path, kindling, live, plant_node, tree_bytes

REFERENCE_HOSTS = [
    ["10.0.0.0", ["test.example.com", "test1.example.com"]],
    ["10.1.1.1", ["test2.example.com"]],
    ["10.0.0.0", ["test3.example.com"]],
]


def test_hostname_written_to_file_and_kernel(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    host = host_with_path(root)
    done = HOSTNAME.apply(host, {"network": {"hostname": "node-1.example.internal."}})
    assert (root / "etc/hostname").read_text() == "node-1.example.internal\n"
    assert (root / "proc/sys/kernel/hostname").read_text() == "node-1.example.internal\n"
    assert done == ["wrote /etc/hostname", "set kernel hostname node-1.example.internal"]
    assert HOSTNAME.apply(host, {"network": {"hostname": "node-1.example.internal"}}) == []


def test_hostname_on_a_root_without_a_kernel_says_so(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    done = HOSTNAME.apply(host_with_path(root), {"network": {"hostname": "n1"}})
    assert (root / "etc/hostname").read_text() == "n1\n"
    assert "kernel hostname not set" in done[1]


@pytest.mark.parametrize("name", ["a" * 63 + "." + "b" * 10, "x." * 40 + "y"])
def test_hostname_over_64_bytes_is_refused(name: str) -> None:
    with pytest.raises(SettingsError) as err:
        usable_hostname(name)
    assert str(err.value).startswith("settings.network.hostname: ") and "64-byte" in str(err.value)


def test_hostname_over_64_bytes_through_apiclient_changes_nothing(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    assert kindling("apiclient", "set", "network.hostname=ok-name", root=root).returncode == 0
    before_live, before_files = live(root), tree_bytes(root)
    out = kindling("apiclient", "set", "network.hostname=" + "a" * 60 + ".example", root=root)
    assert out.returncode == 1 and "settings.network.hostname" in out.stderr and "64-byte" in out.stderr
    assert live(root) == before_live and tree_bytes(root) == before_files


def test_hosts_reference_example_merges_repeated_addresses() -> None:
    """The settings reference's own example and its documented output."""
    lines = render_hosts(None, REFERENCE_HOSTS).splitlines()[1:]
    assert lines == [
        "127.0.0.1 localhost",
        "::1 localhost",
        "10.0.0.0 test.example.com test1.example.com test3.example.com",
        "10.1.1.1 test2.example.com",
    ]


def test_hosts_loopback_entries_merge_into_localhost_after_the_hostname() -> None:
    entries = [["127.0.0.1", ["local-a"]], ["::1", ["local6"]], ["0:0:0:0:0:0:0:1", ["local6b"]],
               ["127.0.0.1", ["local-b", "local-a"]], ["10.0.0.5", ["mapped-name"]]]
    lines = render_hosts("node-1", entries).splitlines()[1:]
    assert lines == ["127.0.0.1 localhost node-1 local-a local-b", "::1 localhost node-1 local6 local6b",
                     "10.0.0.5 mapped-name"]
    # a hostname that a static entry maps is not put on loopback (upstream's rule)
    assert render_hosts("mapped-name", entries).splitlines()[1] == "127.0.0.1 localhost local-a local-b"


def test_hosts_left_alone_when_nothing_is_set(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    (root / "etc").mkdir()
    (root / "etc/hosts").write_text("127.0.0.1 distro\n")
    assert HOSTS.apply(host_with_path(root), {}) == []
    assert (root / "etc/hosts").read_text() == "127.0.0.1 distro\n"


@pytest.mark.rig
@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("getent") is None, reason="needs unshare, getent")
def test_glibc_resolves_through_the_generated_hosts_file(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    out = kindling("apiclient", "set", "network.hostname=demo-node-1",
                   "network.hosts=" + str(REFERENCE_HOSTS).replace("'", '"'), root=root)
    assert out.returncode == 0, out.stderr
    hosts = root / "etc/hosts"
    script = (f"mount --bind {hosts} /etc/hosts && getent hosts test3.example.com && "
              "getent ahostsv4 demo-node-1 | head -1")
    got = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True, timeout=30)
    if got.returncode != 0 and "Operation not permitted" in got.stderr:
        pytest.skip("no permission for a private mount namespace")
    assert got.returncode == 0, got.stderr
    first, second = got.stdout.splitlines()[:2]
    assert first.split() == ["10.0.0.0", "test.example.com", "test1.example.com", "test3.example.com"]
    assert second.split()[0] == "127.0.0.1"
