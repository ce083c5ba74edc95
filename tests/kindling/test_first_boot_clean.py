"""First-boot markers record their machine; `kindling clean` re-arms first boot.

The cloning trap (bottlerocket#4586): an image captured from a booted node carries
its markers, and every clone would skip its first boot. Here the clone is the same
root seen with another DMI product UUID, run through the real `kindling` command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kindling.first_boot import instance_identity, marker_identity, marker_state, write_marker
from kindling.host import Host

KINDLING = str(Path(sys.executable).with_name("kindling"))
DEMO_ROOT = Path(__file__).resolve().parents[2] / "demo" / "root"
MARKER = "/var/lib/kindling/early-boot-config.ran"
UUID_A = "ec2e1916-9099-7caf-fd21-0123456789aa"
UUID_B = "ec2e1916-9099-7caf-fd21-0123456789bb"


def kindling(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINDLING, *args, "--root", str(root)], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"})


@pytest.fixture
def node(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(DEMO_ROOT, root, symlinks=True)
    (root / "sys/class/dmi/id/product_uuid").write_text(UUID_A.upper() + "\n")
    return root


def test_identity_prefers_dmi_then_machine_id(tmp_path: Path) -> None:
    host = Host(tmp_path)
    assert instance_identity(host) is None
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    assert instance_identity(host) == "machine-id:0123456789abcdef0123456789abcdef"
    (tmp_path / "sys/class/dmi/id").mkdir(parents=True)
    (tmp_path / "sys/class/dmi/id/product_uuid").write_text("00000000-0000-0000-0000-000000000000\n")
    assert instance_identity(host).startswith("machine-id:")  # an all-zero UUID identifies nothing
    (tmp_path / "sys/class/dmi/id/product_uuid").write_text(UUID_A + "\n")
    assert instance_identity(host) == f"dmi:{UUID_A}"


def test_markers_carry_the_identity_in_either_format(tmp_path: Path) -> None:
    host = Host(tmp_path)
    (tmp_path / "sys/class/dmi/id").mkdir(parents=True)
    (tmp_path / "sys/class/dmi/id/product_uuid").write_text(UUID_A)
    write_marker(host, "/var/lib/kindling/a.ran", {"changed_keys": 1})
    write_marker(host, "/var/lib/kindling/b.ran", "SUCCESS")
    assert json.loads((tmp_path / "var/lib/kindling/a.ran").read_text())["instance"] == f"dmi:{UUID_A}"
    assert marker_identity((tmp_path / "var/lib/kindling/b.ran").read_text()) == f"dmi:{UUID_A}"
    assert marker_state(host, "/var/lib/kindling/b.ran")[0] == "done"
    (tmp_path / "sys/class/dmi/id/product_uuid").write_text(UUID_B)
    state, detail = marker_state(host, "/var/lib/kindling/b.ran")
    assert state == "foreign" and "written by another machine" in detail and UUID_A in detail
    (tmp_path / "var/lib/kindling/c.ran").write_text("InService\n")  # an older marker: trusted
    assert marker_state(host, "/var/lib/kindling/c.ran")[0] == "done"


def test_a_clone_runs_its_first_boot_and_says_why(node: Path) -> None:
    first = kindling(node, "early-boot-config", "--platform", "metal")
    assert first.returncode == 0, first.stderr
    again = kindling(node, "early-boot-config", "--platform", "metal")
    assert "skipped" in again.stdout
    (node / "sys/class/dmi/id/product_uuid").write_text(UUID_B + "\n")  # the image booted elsewhere
    clone = kindling(node, "early-boot-config", "--platform", "metal")
    assert clone.returncode == 0, clone.stderr
    assert "skipped" not in clone.stdout and "keys changed" in clone.stdout
    assert "written by another machine" in clone.stderr and "treated as absent" in clone.stderr
    assert marker_identity((node / MARKER.lstrip("/")).read_text()) == f"dmi:{UUID_B}"


def test_clean_first_boot_plan_then_for_real(node: Path) -> None:
    assert kindling(node, "early-boot-config", "--platform", "metal").returncode == 0
    store = node / "var/lib/kindling/datastore.sqlite3"
    plan = kindling(node, "clean", "--first-boot", "--plan")
    assert plan.returncode == 0, plan.stderr
    assert f"would remove {MARKER}" in plan.stdout and (node / MARKER.lstrip("/")).exists()
    done = kindling(node, "clean", "--first-boot", "--json")
    assert json.loads(done.stdout) == {"ok": True, "plan": False, "removed": [MARKER]}
    assert not (node / MARKER.lstrip("/")).exists() and store.exists()  # the settings stay
    rerun = kindling(node, "early-boot-config", "--platform", "metal")
    assert "skipped" not in rerun.stdout


def test_clean_removes_the_node_state(node: Path) -> None:
    assert kindling(node, "early-boot-config", "--platform", "metal").returncode == 0
    assert kindling(node, "netdog", "generate-net-config").returncode == 0
    out = kindling(node, "clean")
    assert out.returncode == 0, out.stderr
    for gone in (MARKER, "/var/lib/kindling/datastore.sqlite3", "/var/lib/kindling/netdog/primary_interface"):
        assert f"removed {gone}" in out.stdout
        assert not (node / gone.lstrip("/")).exists()
    assert (node / "etc/systemd/network/10-eth0.network").exists()  # configuration stays
    assert "nothing to clean" in kindling(node, "clean").stdout


def test_clean_first_boot_drops_the_later_boot_fingerprint(node: Path) -> None:
    """A clone must not replay the captured node's boot as "unchanged": the fingerprint goes too."""
    state = node / "var/lib/kindling/boot-state.json"
    booted = kindling(node, "boot", "--platform", "metal")
    assert booted.returncode == 0, booted.stderr
    assert state.exists()
    out = kindling(node, "clean", "--first-boot")
    assert out.returncode == 0, out.stderr
    assert "removed /var/lib/kindling/boot-state.json" in out.stdout and not state.exists()
    again = kindling(node, "boot", "--platform", "metal")
    assert again.returncode == 0, again.stderr
    ebc = next(line for line in again.stdout.splitlines() if line.startswith("early-boot-config "))
    assert " ok (" in ebc and "skipped" not in ebc  # first boot ran again, not replayed
    assert state.exists()
