"""Boot stage `gpu-drivers`: planted PCI devices, Bottlerocket's packaged NVIDIA configs
(as built), stand-in depmod/modprobe (no module loading on this kernel)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gpu.stage import STAGE
from kindling import log
from kindling.api.service import SettingsService
from kindling.boot import BootContext, load_stages, run_boot
from kindling.errors import KindlingError
from kindling.host import FakeClock, Host, RecordingHost

from .rigs import EFA, H100, NEURON, NVSWITCH, T4, FakePci, plant_kernel, plant_sysfs, stand_in

Snap = Callable[[Path], dict[str, bytes]]
OPEN_DIR = "lib/modules/6.1.0-test/kernel/drivers/extra/video/nvidia/open-gpu"


def make_host(root: Path, tmp_path: Path, cls: type[Host] = Host) -> tuple[Host, Path]:
    log_file = tmp_path / "argv.log"
    for tool in ("depmod", "modprobe"):
        stand_in(tmp_path / "bin", tool, log_file)
    host = cls(root, clock=FakeClock(), env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"})
    return host, log_file


def plant_node(root: Path, conformance: Path, devices: list[FakePci]) -> None:
    plant_kernel(root)
    plant_sysfs(root, devices)
    modules = "/usr/share/nvidia/open-gpu/drivers"
    factory = root / modules.lstrip("/")
    factory.mkdir(parents=True)
    for name in ("nvidia", "nvidia-modeset", "nvidia-uvm", "nvidia-drm", "nvidia-peermem"):
        (factory / f"{name}.ko").write_bytes(f"open {name}".encode())
    drivers = root / "etc/kindling/drivers"
    drivers.mkdir(parents=True)
    packaged = conformance / "bottlerocket/driverdog/packaged/kmod-6.1-nvidia"
    for name in ("nvidia-open-gpu-config", "nvidia-open-gpu-copy-only-config"):
        text = (packaged / f"{name}.toml.in").read_text().replace("__NVIDIA_MODULES__", modules)
        (drivers / f"{name}.toml").write_text(text)
    # The proprietary set as a copy set here (linking is covered in test_modules).
    tesla = root / "usr/share/nvidia/tesla/prebuilt"
    tesla.mkdir(parents=True)
    (tesla / "nvidia.ko").write_bytes(b"tesla nvidia")
    (drivers / "nvidia-tesla.toml").write_text(
        '[nvidia-tesla]\nlib-modules-path = "kernel/drivers/extra/video/nvidia/tesla"\n'
        '[nvidia-tesla.kernel-modules."nvidia.ko"]\n'
        'copy-source = "/usr/share/nvidia/tesla/prebuilt"\n')


def ctx(host: Host) -> BootContext:
    return BootContext(host, "aws", log.get("gpu-drivers"))


def test_registered() -> None:
    assert "gpu-drivers" in {s.name for s in load_stages()}
    ebc = next((s for s in load_stages() if s.name == "early-boot-config"), None)
    # after user data, so settings.gpu.nvidia.flavor from user data counts on first boot
    assert ebc is None or STAGE.order > ebc.order


def test_no_devices_skips(root: Path, tmp_path: Path) -> None:
    host, argv_log = make_host(root, tmp_path)
    plant_sysfs(root, [])
    result = STAGE.run(ctx(host))
    assert (result.status, result.detail) == ("skipped", "no NVIDIA/Neuron/EFA devices")
    assert not argv_log.exists()


def test_h100_with_efa_loads_open(root: Path, tmp_path: Path, conformance: Path) -> None:
    plant_node(root, conformance, [H100, EFA])
    host, argv_log = make_host(root, tmp_path)
    result = STAGE.run(ctx(host))
    assert result.status == "ok"
    assert result.detail == ("nvidia open: 5 installed, 0 unchanged, loaded nvidia "
                             "nvidia-modeset nvidia-uvm; efa: 1 device (its module loads through udev)")
    assert (root / OPEN_DIR / "nvidia-peermem.ko").read_bytes() == b"open nvidia-peermem"
    assert argv_log.read_text().splitlines() == [
        f"depmod -b {root} 6.1.0-test",
        f"modprobe -d {root} -S 6.1.0-test -a nvidia nvidia-modeset nvidia-uvm",
    ]
    again = STAGE.run(ctx(host))
    assert again.detail.startswith("nvidia open: 0 installed, 5 unchanged")


def test_t4_and_setting(root: Path, tmp_path: Path, conformance: Path) -> None:
    plant_node(root, conformance, [T4])
    host, _ = make_host(root, tmp_path)
    assert STAGE.run(ctx(host)).detail.startswith("nvidia proprietary: 1 installed")
    SettingsService(host).set_tree({"gpu": {"nvidia": {"flavor": "open"}}}, tx="t", source="test")
    assert STAGE.run(ctx(host)).detail.startswith("nvidia open: 5 installed")


def test_neuron(root: Path, tmp_path: Path) -> None:
    plant_kernel(root)
    plant_sysfs(root, [NEURON])
    host, argv_log = make_host(root, tmp_path)
    result = STAGE.run(ctx(host))
    assert result.detail == "neuron: 1 device, loaded neuron"
    assert argv_log.read_text().splitlines() == [
        f"depmod -b {root} 6.1.0-test", f"modprobe -d {root} -S 6.1.0-test neuron"]


def test_gpu_without_configs_fails_loudly(root: Path, tmp_path: Path,
                                          tree_snapshot: Snap) -> None:
    plant_kernel(root)
    plant_sysfs(root, [H100])
    host, argv_log = make_host(root, tmp_path)
    before = tree_snapshot(root)
    with pytest.raises(KindlingError, match=r"NVIDIA GPU present \(10de:2330\) but no driver: .*"
                       "install the distribution's NVIDIA kernel driver"):
        STAGE.run(ctx(host))
    report = run_boot(host, "aws", stages=[STAGE])
    assert report.records[0].status == "failed"
    after = tree_snapshot(root)
    for written in ("timeline.json", "boot-progress.json", "boot.lock"):  # the boot runner's own records
        after.pop(f"run/kindling/{written}")
    assert after == before and not argv_log.exists()


def test_plan_changes_nothing(root: Path, tmp_path: Path, conformance: Path,
                              tree_snapshot: Snap) -> None:
    plant_node(root, conformance, [H100])
    host, argv_log = make_host(root, tmp_path, RecordingHost)
    before = tree_snapshot(root)
    report = run_boot(host, "aws", stages=[STAGE])
    record = report.records[0]
    assert record.status == "ok"
    assert f"mkdir /{OPEN_DIR}" in record.actions
    assert f"run depmod -b {root} 6.1.0-test" in record.actions
    assert tree_snapshot(root) == before and not argv_log.exists()


def test_unknown_flavour_setting(root: Path, tmp_path: Path, conformance: Path,
                                 tree_snapshot: Snap) -> None:
    """The model refuses it at the API; a value that got into the store anyway (an
    older or hand-edited datastore) fails the stage with the key, never the value."""
    plant_node(root, conformance, [H100])
    host, argv_log = make_host(root, tmp_path)
    service = SettingsService(host)
    with pytest.raises(KindlingError, match=r"settings\.gpu\.nvidia\.flavor") as err:
        service.set_tree({"gpu": {"nvidia": {"flavor": "grid-x1"}}}, tx="t", source="user-data")
    assert "grid-x1" not in str(err.value)
    assert service.get_settings() == {}
    import sqlite3

    with sqlite3.connect(root / "var/lib/kindling/datastore.sqlite3") as db:
        db.execute("INSERT INTO live(key, value) VALUES ('gpu.nvidia.flavor', '\"grid-x1\"')")
    before = tree_snapshot(root)
    with pytest.raises(KindlingError, match=r"^datastore: settings\.gpu\.nvidia\.flavor: must be "
                                            r"one of auto, open, proprietary$"):
        STAGE.run(ctx(host))
    assert tree_snapshot(root) == before and not argv_log.exists()


def test_cheap_vendor_check_matches_the_device_tables() -> None:
    """The stage's pre-import vendor check must know every vendor detect classifies."""
    from gpu import stage
    from gpu.device_ids import AMAZON_VENDOR, NVIDIA_VENDOR

    assert set(stage._VENDORS) == {NVIDIA_VENDOR, AMAZON_VENDOR}


def _distro_node(root: Path, tmp_path: Path, license: str) -> tuple[Host, Path]:
    """A node whose nvidia.ko came from the distribution (DKMS): modules.dep lists it,
    `modinfo` (a stand-in printing the real tool's format) says what it is."""
    plant_kernel(root)
    plant_sysfs(root, [H100])
    dep = root / "lib/modules/6.1.0-test/modules.dep"
    dep.parent.mkdir(parents=True, exist_ok=True)
    dep.write_text("updates/dkms/nvidia.ko.xz:\nupdates/dkms/nvidia-uvm.ko.xz: updates/dkms/nvidia.ko.xz\n"
                   "kernel/drivers/block/loop.ko.xz:\n")
    host, argv_log = make_host(root, tmp_path)
    modinfo = tmp_path / "bin" / "modinfo"
    modinfo.write_text(f"#!/bin/sh\necho \"modinfo $*\" >> {argv_log}\n"
                       "printf"
                       f" 'filename:       %s\\nversion:        550.127.05\\nlicense:        {license}\\n' \"$1\"\n")
    modinfo.chmod(0o755)
    return host, argv_log


def test_distribution_open_driver_loads_without_driverdog_config(root: Path, tmp_path: Path) -> None:
    host, argv_log = _distro_node(root, tmp_path, "Dual MIT/GPL")
    units = root / "usr/lib/systemd/system"
    units.mkdir(parents=True)
    (units / "nvidia-persistenced.service").write_text("[Service]\n")
    stand_in(tmp_path / "bin", "systemctl", argv_log)
    result = STAGE.run(ctx(host))
    assert result.status == "ok"
    assert result.detail == ("nvidia open 550.127.05 (distribution driver /lib/modules/6.1.0-test/"
                             "updates/dkms/nvidia.ko.xz): loaded nvidia nvidia-uvm; "
                             "started nvidia-persistenced.service")
    calls = argv_log.read_text().splitlines()
    assert f"modprobe -d {root} -S 6.1.0-test -a nvidia nvidia-uvm" in calls
    assert "systemctl start --no-block nvidia-persistenced.service" in calls
    report = run_boot(host, "aws", stages=[STAGE])
    assert report.ok and report.records[0].status == "ok"


def test_distribution_proprietary_driver_against_forced_open_fails(root: Path, tmp_path: Path) -> None:
    host, argv_log = _distro_node(root, tmp_path, "NVIDIA")
    SettingsService(host).set_tree({"gpu": {"nvidia": {"flavor": "open"}}}, tx="t", source="test")
    with pytest.raises(KindlingError, match=r"flavor = open, but the installed nvidia module .* is proprietary"):
        STAGE.run(ctx(host))
    assert "modprobe" not in argv_log.read_text()


def test_nvswitch_node_starts_fabricmanager_when_installed(root: Path, tmp_path: Path) -> None:
    host, argv_log = _distro_node(root, tmp_path, "Dual MIT/GPL")
    plant_sysfs(root, [NVSWITCH])
    units = root / "lib/systemd/system"
    units.mkdir(parents=True)
    (units / "nvidia-fabricmanager.service").write_text("[Service]\n")
    stand_in(tmp_path / "bin", "systemctl", argv_log)
    assert STAGE.run(ctx(host)).detail.endswith("; started nvidia-fabricmanager.service")
    assert "systemctl start --no-block nvidia-fabricmanager.service" in argv_log.read_text()
