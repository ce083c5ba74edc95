"""The harness's pure parts: the NoCloud seed made from Kindling's inputs, the sandbox
stage protocol, `-X importtime` parsing and bench_<pkg>.py discovery (bench/, issue 9)."""

from __future__ import annotations

import json
import math
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.components import find_modules
from bench.nsrun import Chroot, parse_stages, sandbox_argv
from bench.peers.cloudinit import boot_stage_times, kindling_seed
from bench.peers.hostcheck import host_fingerprint, written
from bench.peers.nocloud import bootconfig_settings, net_toml_to_v2, nocloud_seed, settings_from_inputs
from bench.profile import _PROFILED_MAIN, importtime_table, median_imports, parse_importtime

REPO = Path(__file__).resolve().parent.parent.parent


def test_settings_merge_later_wins_per_leaf() -> None:
    tree = settings_from_inputs(
        '[settings]\nmotd = "a"\n[settings.network]\nhostname = "x"\n',
        '[settings]\nmotd = "b"\n[settings.network]\nno-proxy = ["y"]\n',
    )
    assert tree == {"motd": "b", "network": {"hostname": "x", "no-proxy": ["y"]}}


def test_bootconfig_settings_reads_kindling_keys_only() -> None:
    text = 'kindling.settings.motd = "hi"\nkernel.console = "ttyS0"\nkindling.settings.network.hostname = "n1"\n'
    assert bootconfig_settings(text) == {"motd": "hi", "network": {"hostname": "n1"}}


def test_net_toml_v2_to_network_config_v2() -> None:
    text = (
        'version = 2\n[eth0]\nprimary = true\ndhcp4 = true\ndhcp6 = { enabled = true, optional = true }\n'
        '[eth1]\nstatic4 = ["192.168.50.10/24"]\n[[eth1.route]]\nto = "10.10.0.0/16"\nvia = "192.168.50.1"\n'
    )
    assert net_toml_to_v2(text) == {
        "version": 2,
        "ethernets": {
            "eth0": {"dhcp4": True, "dhcp6": True},
            "eth1": {"addresses": ["192.168.50.10/24"], "routes": [{"to": "10.10.0.0/16", "via": "192.168.50.1"}]},
        },
    }


def test_net_toml_static_table_form() -> None:
    text = 'version = 3\n[eth1]\nstatic4 = { addresses = ["10.0.0.2/24"] }\nstatic6 = { addresses = ["fd00::2/64"] }\n'
    assert net_toml_to_v2(text)["ethernets"]["eth1"] == {"addresses": ["10.0.0.2/24", "fd00::2/64"]}


def test_nocloud_seed_carries_every_setting() -> None:
    settings = {"motd": "hello", "network": {"hostname": "n1", "https-proxy": "p:3128", "no-proxy": ["a", "b"]},
                "kernel": {"sysctl": {"vm.max_map_count": "262144"}}, "kdump": {"enabled": True}}  # fmt: skip
    seed = nocloud_seed(settings, None)
    assert set(seed) == {"meta-data", "user-data"}
    assert json.loads(seed["meta-data"]) == {"instance-id": "kindling-bench", "local-hostname": "n1"}
    assert seed["user-data"].startswith("#cloud-config\n")
    doc = json.loads(seed["user-data"].split("\n", 1)[1])  # JSON is YAML: cloud-init reads it
    assert doc["hostname"] == "n1"
    files = {f["path"]: f for f in doc["write_files"]}
    assert files["/etc/motd"]["content"] == "hello\n"
    assert "NO_PROXY=a,b" in files["/etc/network/proxy.env"]["content"]
    assert files["/etc/sysctl.d/90-kindling.conf"]["content"] == "vm.max_map_count = 262144\n"
    assert json.loads(files["/etc/kindling-bench/settings.json"]["content"]) == settings
    assert files["/etc/kindling-bench/settings.json"]["permissions"] == "0600"


def test_seed_from_the_demo_root_matches_its_inputs() -> None:
    seed = kindling_seed(REPO / "demo" / "root")
    doc = json.loads(seed["user-data"].split("\n", 1)[1])
    assert doc["hostname"] == "demo-node-1"
    motd = next(f for f in doc["write_files"] if f["path"] == "/etc/motd")
    assert motd["content"] == "set from /proc/bootconfig\n"  # order 30 beats the local file (20)
    net = json.loads(seed["network-config"])
    assert net["ethernets"]["eth0"]["dhcp4"] is True
    assert net["ethernets"]["eth1"]["routes"] == [{"to": "10.10.0.0/16", "via": "192.168.50.1"}]


def test_boot_stage_times_from_kindling_boot_output() -> None:
    out = (
        "kindling boot: platform metal, root /tmp/x\n"
        "growpart                 skipped: no GPT partition named KINDLING-DATA  [68.8 ms]\n"
        "early-boot-config        ok (3/4 providers had data, 14 keys changed)  [467.7 ms]\n"
        "kdump-load               failed: no kernel image  [36.1 ms]\n"
        "boot FAILED: 3 stages in 572.6 ms\n"
    )
    assert boot_stage_times(out) == {"growpart": 68.8, "early-boot-config": 467.7, "kdump-load": 36.1}


def test_parse_stages_reads_only_marker_lines() -> None:
    out = "noise\n@@stage init-local 100.000100 100.250100 0 40960\n@@stage init 100.3 100.7005 1 -\n@@stage bad\n"
    stages = parse_stages(out)
    assert [(s.name, s.rc) for s in stages] == [("init-local", 0), ("init", 1)]
    assert stages[0].ms == pytest.approx(250.0)
    assert stages[0].rss_mb == 40.0
    assert stages[1].ms == pytest.approx(400.5)
    assert math.isnan(stages[1].rss_mb)


def test_sandbox_script_is_valid_bash_and_times_each_stage(tmp_path: Path) -> None:
    c = Chroot(tmp_path / "lower", tmp_path / "up per", tmp_path / "work", tmp_path / "mnt")
    argv = sandbox_argv([("a", ["cloud-init", "init", "--local"]), ("b", ["echo", "it's"])], chroot=c,
                        rss_dir=tmp_path)  # fmt: skip
    assert argv[:8] == ["unshare", "--mount", "--net", "--uts", "--ipc", "--pid", "--fork", "--propagation"]
    script = argv[-1]
    assert subprocess.run(["bash", "-n", "-c", script]).returncode == 0
    assert "'upperdir=" in script or "upperdir=" in script
    assert script.count("$EPOCHREALTIME") == 4
    assert f"/usr/bin/time -f %M -o {tmp_path}/rss.1 chroot {tmp_path / 'mnt'} echo 'it'\"'\"'s'" in script
    assert "mount -t tmpfs -o mode=0755 tmpfs" in script  # /run is fresh for every boot


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_sandbox_tmpfs_is_memory_for_the_run_only(tmp_path: Path) -> None:
    """A `--root`'s /run gets a fresh tmpfs inside the sandbox, as the chroot's /run does:
    what a boot writes there is in memory and gone with the namespace (the next boot's /run
    is empty, as after a reboot)."""
    run = tmp_path / "root" / "run"
    run.mkdir(parents=True)
    (run / "old").write_text("from before")
    argv = sandbox_argv([("probe", ["sh", "-c", f"stat -f -c %T {run} && ls -A {run} && touch {run}/new"])],
                        log=tmp_path / "log", tmpfs=[run])  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert [s.rc for s in parse_stages(done.stdout)] == [0], done.stderr
    assert (tmp_path / "log").read_text().split() == ["tmpfs"]  # and it was empty
    assert sorted(p.name for p in run.iterdir()) == ["old"]  # the run's file went with it


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:      2000 |       2000 | encodings
import time:       500 |        900 |     kindling.host
import time:      4000 |       5500 | kindling
something else on stderr
"""


def test_parse_importtime_and_table() -> None:
    lines = parse_importtime(IMPORTTIME)
    assert [(x.module, x.self_us, x.cumulative_us, x.depth) for x in lines] == [
        ("_io", 120, 120, 1), ("encodings", 2000, 2000, 0), ("kindling.host", 500, 900, 2), ("kindling", 4000, 5500, 0)
    ]  # fmt: skip
    table = importtime_table(lines, top=2)
    assert table.startswith("4 modules imported, 6.6 ms summed self time (2 Kindling modules, 4.5 ms of it).")
    assert "| `kindling` | 4.00 | 5.50 |\n| `encodings` | 2.00 | 2.00 |" in table
    assert "kindling.host` | 0.50" not in table  # beyond the top 2
    assert "| `kindling` | 5.50 |" in table  # top-level by cumulative


def test_median_imports_takes_the_median_per_module() -> None:
    stalled = IMPORTTIME.replace("2000 |       2000", "9000 |       9000")
    runs = [parse_importtime(IMPORTTIME), parse_importtime(stalled), parse_importtime(IMPORTTIME)]
    med = {x.module: x for x in median_imports(runs)}
    assert med["encodings"].self_us == 2000  # the one stalled run does not count
    assert med["kindling"].cumulative_us == 5500


def test_find_modules_reports_absent_components_and_extra_ones(tmp_path: Path) -> None:
    (tmp_path / "bench_netdog.py").write_text("print('x')\n")
    (tmp_path / "bench_early_boot.py").write_text("print('x')\n")
    (tmp_path / "bench_vmware.py").write_text("print('x')\n")
    (tmp_path / "run.py").write_text("")
    (tmp_path / "bench_vm_guest.py").write_text("print('x')\n")  # run by its own section (vm)
    found = {m.component: m.path for m in find_modules(tmp_path)}
    assert "vm_guest" not in found
    assert found["netdog"] == tmp_path / "bench_netdog.py"
    assert found["early-boot-config"] == tmp_path / "bench_early_boot.py"
    assert found["vmware"] == tmp_path / "bench_vmware.py"
    assert found["growpart"] is None and found["gpu"] is None and found["kdump"] is None and found["aws"] is None
    assert "run" not in found


def test_written_lists_files_changed_since_a_moment(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "var/lib/cloud").mkdir(parents=True)
    (tmp_path / "etc/old").write_text("x")
    os.utime(tmp_path / "etc/old", ns=(1, 1))
    since = time.time_ns() - 1_000_000
    (tmp_path / "etc/motd").write_text("hi")
    (tmp_path / "var/lib/cloud/state").write_text("s")
    assert written(tmp_path, since) == ["/etc/motd", "/var/lib/cloud/state"]
    assert written(tmp_path, since, skip=("var/lib/cloud",)) == ["/etc/motd"]


def test_host_fingerprint_names_the_part_that_changed(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a")
    before = host_fingerprint(tmp_path)
    assert before == host_fingerprint(tmp_path)
    (tmp_path / "g").write_text("b")
    after = host_fingerprint(tmp_path)
    assert [k for k in before if before[k] != after[k]] == ["cached cloud-init root"]


def test_the_profile_driver_writes_its_stats_although_kindling_ends_with_os_exit(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(REPO / "demo" / "root", root, symlinks=True)
    out = tmp_path / "boot.prof"
    done = subprocess.run([sys.executable, "-c", _PROFILED_MAIN, str(out), "boot", "--platform", "metal",
                           "--root", str(root)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    names = {func for (_file, _line, func) in pstats.Stats(str(out)).stats}  # type: ignore[attr-defined]
    assert {"run_boot", "main"} <= names
