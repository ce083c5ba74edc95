"""The kernel appliers (sysctl, lockdown, kernel-modules) on a temp root, read back by
the real consumers: procps `sysctl -p` inside a throwaway network namespace (net.*
sysctls are per namespace, so this machine's kernel is never touched), systemd's
`cat-config --root`, kmod's `modprobe -C … -c`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kindling.errors import SettingsError
from kindling.kernel.lockdown import apply_lockdown
from kindling.kernel.modules import MODPROBE_CONF, MODULES_LOAD_CONF, apply_modules
from kindling.kernel.sysctl import DROPIN, apply_sysctls, check_sysctl_key, render_dropin
from tests.kindling.appliers_rig import host_with_path, kindling, live, plant_node, systemd_root, tree_bytes

SYSCTLS = {"vm.swappiness": "10", "net.ipv4.ip_forward": "1", "vm.max_map_count": "262144",
           "net.ipv4.conf.*.rp_filter": "2", "fs.not_on_this_kernel": "5"}


def test_sysctl_drop_in_sorted_and_live_values_written(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    host = host_with_path(root)
    done = apply_sysctls(host, {"kernel": {"sysctl": SYSCTLS}})
    text = (root / DROPIN.lstrip("/")).read_text()
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body == sorted(body) and "vm.swappiness = 10" in body and "net.ipv4.conf.*.rp_filter = 2" in body
    assert (root / "proc/sys/vm/swappiness").read_text() == "10\n"
    assert (root / "proc/sys/vm/max_map_count").read_text() == "262144\n"
    # the glob reaches every interface, as systemd-sysctl expands it
    assert (root / "proc/sys/net/ipv4/conf/eth0/rp_filter").read_text() == "2\n"
    assert (root / "proc/sys/net/ipv4/conf/eth1/rp_filter").read_text() == "2\n"
    assert "fs.not_on_this_kernel: not on this kernel (kept in /etc/sysctl.d/90-kindling.conf)" in done
    assert not (root / "proc/sys/fs").exists()
    # idempotent: a second run writes nothing (only the report of the missing key stays)
    before = tree_bytes(root)
    again = apply_sysctls(host, {"kernel": {"sysctl": SYSCTLS}})
    assert again == ["fs.not_on_this_kernel: not on this kernel (kept in /etc/sysctl.d/90-kindling.conf)"]
    assert tree_bytes(root) == before
    # every key removed: the drop-in goes too
    assert apply_sysctls(host, {}) == [f"removed {DROPIN}"]


@pytest.mark.rig
@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("sysctl") is None, reason="needs unshare, procps")
def test_sysctl_drop_in_is_read_by_procps_in_a_private_network_namespace(tmp_path: Path) -> None:
    """procps parses and applies the drop-in for real; net.* lives in the new namespace."""
    root = plant_node(tmp_path / "root")
    apply_sysctls(host_with_path(root), {"kernel": {"sysctl": {"net.core.somaxconn": "1234",
                                                                 "net.ipv4.ip_local_port_range": "20000 40000"}}})
    dropin = root / DROPIN.lstrip("/")
    script = f"sysctl -q -p {dropin} && sysctl -n net.core.somaxconn && sysctl -n net.ipv4.ip_local_port_range"
    out = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    if out.returncode != 0 and "Operation not permitted" in out.stderr:
        pytest.skip("no permission to create a network namespace")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "1234"
    assert out.stdout.split("\n")[1].split() == ["20000", "40000"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_sysctl_drop_in_seen_by_systemd_on_the_root(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    apply_sysctls(host_with_path(root), {"kernel": {"sysctl": {"vm.swappiness": "10"}}})
    out = subprocess.run(["systemd-analyze", "cat-config", f"--root={root}", "sysctl.d"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert f"# {root}{DROPIN}" in out.stdout and "vm.swappiness = 10" in out.stdout


@pytest.mark.parametrize("key", ["vm/swappiness", "vm..swappiness", ".vm", "vm.", "vm. x", "vm swappiness", "",
                                 "a" * 256])
def test_sysctl_keys_that_would_leave_proc_sys_are_refused(key: str) -> None:
    with pytest.raises(SettingsError) as err:
        check_sysctl_key(key)
    assert "settings.kernel.sysctl" in str(err.value) and "not a valid sysctl key" in str(err.value)


@pytest.mark.parametrize("key", ["vm/../../etc/x", "vm..swappiness", "net. ipv4", "vm."])
def test_bad_sysctl_key_through_apiclient_changes_nothing(tmp_path: Path, key: str) -> None:
    root = plant_node(tmp_path / "root")
    assert kindling("apiclient", "set", 'kernel.sysctl."vm.swappiness"=10', root=root).returncode == 0
    before_live, before_files = live(root), tree_bytes(root)
    out = kindling("apiclient", "set", f'kernel.sysctl."{key}"=1', root=root)
    assert out.returncode == 1
    assert "settings.kernel.sysctl" in out.stderr and "not a valid sysctl key" in out.stderr
    assert "Traceback" not in out.stderr
    assert live(root) == before_live and tree_bytes(root) == before_files


def test_apiclient_set_sysctl_takes_effect(tmp_path: Path) -> None:
    """The README's example: `apiclient set kernel.sysctl."vm.swappiness"=10` changes the node."""
    root = plant_node(tmp_path / "root")
    out = kindling("apiclient", "set", 'kernel.sysctl."vm.swappiness"=10', root=root)
    assert out.returncode == 0, out.stderr
    assert (root / "proc/sys/vm/swappiness").read_text() == "10\n"
    assert "vm.swappiness = 10" in (root / DROPIN.lstrip("/")).read_text()


def test_render_dropin_is_sorted() -> None:
    assert render_dropin({"b.x": "1", "a.y": "2"}).splitlines()[1:] == ["a.y = 2", "b.x = 1"]


def test_lockdown_raised_never_lowered(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    host = host_with_path(root)
    lockdown = root / "sys/kernel/security/lockdown"
    assert apply_lockdown(host, {"kernel": {"lockdown": "integrity"}}) == ["raised kernel lockdown none -> integrity"]
    assert lockdown.read_text() == "integrity"
    lockdown.write_text("none [integrity] confidentiality\n")  # what the kernel then shows
    assert apply_lockdown(host, {"kernel": {"lockdown": "integrity"}}) == []
    lowered = apply_lockdown(host, {"kernel": {"lockdown": "none"}})
    assert lowered and "needs a reboot" in lowered[0]
    assert lockdown.read_text() == "none [integrity] confidentiality\n"


def test_lockdown_lowered_at_run_time_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    assert kindling("apiclient", "set", "kernel.lockdown=confidentiality", root=root).returncode == 0
    lockdown = root / "sys/kernel/security/lockdown"
    assert lockdown.read_text() == "confidentiality"
    lockdown.write_text("none integrity [confidentiality]\n")
    before_live, before_files = live(root), tree_bytes(root)
    out = kindling("apiclient", "set", "kernel.lockdown=integrity", root=root)
    assert out.returncode == 1
    assert "settings.kernel.lockdown" in out.stderr and "needs a reboot" in out.stderr
    assert live(root) == before_live and tree_bytes(root) == before_files


def test_lockdown_without_the_lsm_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    done = apply_lockdown(host_with_path(root), {"kernel": {"lockdown": "integrity"}})
    assert done and "no lockdown support" in done[0]


def test_module_policy_files_and_restart_only_when_changed(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    log = systemd_root(root, tmp_path / "bin")
    host = host_with_path(root, tmp_path / "bin")
    settings = {"kernel": {"modules": {"sctp": {"allowed": False}, "udf": {"allowed": False},
                                       "br_netfilter": {"autoload": True},
                                       "dccp": {"allowed": False, "autoload": True}}}}
    apply_modules(host, settings)
    modprobe = (root / MODPROBE_CONF.lstrip("/")).read_text().splitlines()[1:]
    assert modprobe == ["install dccp /bin/true", "install sctp /bin/true", "install udf /bin/true"]
    assert (root / MODULES_LOAD_CONF.lstrip("/")).read_text().splitlines()[1:] == ["br_netfilter"]
    assert log.read_text().splitlines() == ["try-reload-or-restart --no-block systemd-modules-load.service"]
    # blocking another module changes modprobe.d only: modules-load is not restarted again
    settings["kernel"]["modules"]["cramfs"] = {"allowed": False}
    assert apply_modules(host, settings) == [f"wrote {MODPROBE_CONF}"]
    assert apply_modules(host, settings) == []
    assert len(log.read_text().splitlines()) == 1


@pytest.mark.skipif(shutil.which("modprobe") is None, reason="needs kmod")
def test_modprobe_reads_the_blocklist(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    apply_modules(host_with_path(root), {"kernel": {"modules": {"sctp": {"allowed": False}}}})
    out = subprocess.run(["modprobe", "-C", str(root / "etc/modprobe.d"), "-c"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "install sctp /bin/true" in out.stdout.splitlines()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_modules_load_seen_by_systemd_on_the_root(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    apply_modules(host_with_path(root), {"kernel": {"modules": {"br_netfilter": {"autoload": True}}}})
    out = subprocess.run(["systemd-analyze", "cat-config", f"--root={root}", "modules-load.d"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "br_netfilter" in out.stdout.splitlines()


def test_module_name_with_a_slash_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    before_files = tree_bytes(root)
    out = kindling("apiclient", "set", 'kernel.modules."../x".allowed=false', root=root)
    assert out.returncode == 1 and 'settings.kernel.modules."../x"' in out.stderr
    out = kindling("apiclient", "set", "--json", '{"settings": {"kernel": {"modules": {"a/b": {"allowed": false}}}}}',
                   root=root)
    assert out.returncode == 1 and "settings.kernel.modules" in out.stderr and "kernel module name" in out.stderr
    assert live(root) == {} and tree_bytes(root) == before_files


def test_plan_shows_the_diff_and_changes_nothing(tmp_path: Path) -> None:
    from kindling.host import RecordingHost

    root = plant_node(tmp_path / "root")
    before = tree_bytes(root)
    plan = RecordingHost(root)
    apply_sysctls(plan, {"kernel": {"sysctl": {"vm.swappiness": "10"}}})
    assert plan.actions == [f"write {DROPIN} (104 bytes, mode 0644)",
                            "write-in-place /proc/sys/vm/swappiness (3 bytes)"]
    assert "+vm.swappiness = 10\n" in plan.diffs[0]
    assert "-60\n+10\n" in plan.diffs[1]
    assert tree_bytes(root) == before


def test_early_boot_plan_prints_would_write_with_the_diff(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    ud = root / "var/lib/kindling/user-data.toml"
    ud.parent.mkdir(parents=True)
    ud.write_text('[settings.kernel.sysctl]\n"vm.swappiness" = "10"\n')
    before = tree_bytes(root)
    out = kindling("early-boot-config", "--plan", "--platform", "metal", root=root)
    assert out.returncode == 0, out.stderr
    assert f"would write {DROPIN}" in out.stdout and "+vm.swappiness = 10" in out.stdout
    assert "would write-in-place /proc/sys/vm/swappiness" in out.stdout and "      -60" in out.stdout
    assert tree_bytes(root) == before
