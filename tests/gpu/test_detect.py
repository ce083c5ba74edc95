"""Detection: pyudev under umockdev-run (the real enumeration path, in a subprocess)
and a planted sysfs tree under a root prefix (in process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gpu.detect import detect
from kindling.api.service import SettingsService
from kindling.host import Host

from .rigs import (
    EFA,
    ENA,
    H100,
    NEURON,
    NVSWITCH,
    T4,
    V100,
    FakePci,
    detect_json,
    plant_sysfs,
    run_kindling,
    run_umockdev,
)

CASES = [
    ("h100", [H100], "open", {"nvidia": 1, "neuron": 0, "efa": 0}),
    ("t4", [T4], "proprietary", {"nvidia": 1, "neuron": 0, "efa": 0}),
    ("v100", [V100], "proprietary", {"nvidia": 1, "neuron": 0, "efa": 0}),
    ("mixed", [H100, FakePci("0000:00:1f.0", 0x10DE, 0x1EB8)], "proprietary",
     {"nvidia": 2, "neuron": 0, "efa": 0}),
    ("p5-like", [H100, NVSWITCH, EFA], "open", {"nvidia": 1, "neuron": 0, "efa": 1}),
    ("neuron", [NEURON, ENA], None, {"nvidia": 0, "neuron": 1, "efa": 0}),
    ("efa", [EFA], None, {"nvidia": 0, "neuron": 0, "efa": 1}),
    ("none", [], None, {"nvidia": 0, "neuron": 0, "efa": 0}),
]


@pytest.mark.parametrize(("devices", "flavor", "counts"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_detect_under_umockdev(
    tmp_path: Path, devices: list[FakePci], flavor: str | None, counts: dict[str, int]
) -> None:
    out = detect_json(tmp_path, devices)
    assert out["nvidia_flavor"] == flavor
    assert out["counts"] == counts
    for dev in out["devices"]:  # type: ignore[attr-defined]
        assert set(dev) == {"kind", "vendor", "device", "name", "slot", "class"}


def test_h100_fields_and_text_output(tmp_path: Path) -> None:
    out: dict[str, Any] = detect_json(tmp_path, [H100])
    assert out["devices"] == [{
        "kind": "nvidia", "vendor": "0x10de", "device": "0x2330",
        "name": "NVIDIA H100 80GB HBM3", "slot": "0000:00:1e.0", "class": "0x030200",
    }]
    text = run_umockdev(tmp_path, [H100, NEURON], "gpu", "detect")
    assert text.returncode == 0
    assert "nvidia  0000:00:1e.0  10de:2330  NVIDIA H100 80GB HBM3" in text.stdout
    assert "neuron  0000:00:1d.0  1d0f:7264  AWS Inferentia2 (Inf2)" in text.stdout
    assert "nvidia flavour: open" in text.stdout


def test_udev_hwdb_name_wins(tmp_path: Path) -> None:
    named = FakePci("0000:00:1e.0", 0x10DE, 0x1EB8, model="TU104GL [Tesla T4]")
    out: dict[str, Any] = detect_json(tmp_path, [named])
    assert out["devices"][0]["name"] == "TU104GL [Tesla T4]"


@pytest.mark.parametrize(
    ("devices", "flavor", "codes"),
    [
        ([H100], "open", (0, 1)),
        ([T4], "proprietary", (1, 0)),
        ([NEURON], None, (1, 1)),
    ],
)
def test_match_driver_exit_codes(
    tmp_path: Path, devices: list[FakePci], flavor: str | None, codes: tuple[int, int]
) -> None:
    got = tuple(
        run_umockdev(tmp_path, devices, "gpu", "match-driver", f).returncode
        for f in ("open", "proprietary")
    )
    assert got == codes
    alias = run_umockdev(tmp_path, devices, "gpu", "match-driver", "open-gpu")
    assert alias.returncode == codes[0]
    if codes[0]:
        assert "open is not the driver to use" in alias.stderr


def test_setting_overrides_auto(tmp_path: Path, root: Path) -> None:
    host = Host(root)
    plant_sysfs(root, [H100])
    SettingsService(host).set_tree({"gpu": {"nvidia": {"flavor": "proprietary"}}}, tx="t",
                                   source="test")
    assert detect(host).choice.flavor == "proprietary"
    args = ("--root", str(root))
    assert run_kindling("gpu", "match-driver", "proprietary", *args).returncode == 0
    assert run_kindling("gpu", "match-driver", "open", *args).returncode == 1
    out = json.loads(run_kindling("gpu", "detect", "--json", *args).stdout)
    assert out["flavor_setting"] == "proprietary" and out["nvidia_flavor"] == "proprietary"


def test_root_prefix_reads_its_own_sys(tmp_path: Path, root: Path) -> None:
    """Under --root the testbed's (the machine's) devices do not leak in."""
    out = detect_json(tmp_path, [H100], "--root", str(root))
    assert out["devices"] == [] and out["nvidia_flavor"] is None


def test_match_driver_usage_and_unknowable(tmp_path: Path, root: Path) -> None:
    bad = run_kindling("gpu", "match-driver", "nouveau")
    assert bad.returncode == 2 and "open or proprietary" in bad.stderr
    plant_sysfs(root, [H100])
    # A datastore that cannot be read: the answer is unknown -> 255 (unit fails, not skipped).
    store = root / "var/lib/kindling/datastore.sqlite3"
    store.mkdir(parents=True)
    r = run_kindling("gpu", "match-driver", "open", "--root", str(root))
    assert r.returncode == 255, r.stderr
    assert "datastore" in r.stderr
    store.rmdir()
    store.write_bytes(b"not a database" * 100)  # sqlite3 raises its own error here
    r = run_kindling("gpu", "match-driver", "open", "--root", str(root))
    assert r.returncode == 255, r.stderr
    assert "Traceback" not in r.stderr


def test_planted_sysfs_under_root(host: Host, root: Path) -> None:
    plant_sysfs(root, [H100, NVSWITCH, NEURON, EFA])
    report = detect(host)
    assert [d.kind for d in report.devices] == ["neuron", "nvidia", "efa"]  # slot order
    assert report.choice.flavor == "open"
    assert json.loads(json.dumps(report.to_json()))["counts"] == {"nvidia": 1, "neuron": 1, "efa": 1}


def test_unreadable_sysfs_device_is_skipped(host: Host, root: Path) -> None:
    plant_sysfs(root, [T4])
    broken = root / "sys/bus/pci/devices/0000:00:09.0"
    broken.mkdir()
    (broken / "vendor").write_text("garbage\n")
    report = detect(host)
    assert [d.device.slot for d in report.devices] == ["0000:00:1e.0"]
    assert report.choice.flavor == "proprietary"


def test_datastore_path_matches_foundation() -> None:
    from gpu.detect import DATASTORE_PATH
    from kindling.datastore import DATASTORE_PATH as FOUNDATION

    assert DATASTORE_PATH == FOUNDATION
