"""NVML inventory on both sides of the seam: the real pynvml (no driver here, so the
"not available" path is real) and a stand-in NVML with GPUs behind `collect_inventory`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from gpu.inventory import collect_inventory
from kindling.errors import HostError

from .rigs import KINDLING


class FakeNVMLError(Exception):
    pass


class NotSupported(FakeNVMLError):
    pass


@dataclass
class Mem:
    total: int
    used: int


@dataclass
class Pci:
    busId: str


@dataclass
class FakeNvml:
    """pynvml's surface for two GPUs: an H100 in MIG mode and a T4 without MIG."""

    NVMLError: type[Exception] = FakeNVMLError
    calls: list[str] = field(default_factory=list)
    fail_name: bool = False
    init_error: str | None = None

    def nvmlInit(self) -> None:
        self.calls.append("init")
        if self.init_error:
            raise FakeNVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.90.07"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, h: int) -> bytes | str:
        if self.fail_name:
            raise FakeNVMLError("GPU is lost")
        return "NVIDIA H100 80GB HBM3" if h == 0 else b"Tesla T4"

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return f"GPU-0000000{h}-aaaa-bbbb-cccc-dddddddddddd"

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Mem:
        return Mem(85_520_809_984, 1 << 20) if h == 0 else Mem(16_106_127_360, 0)

    def nvmlDeviceGetMigMode(self, h: int) -> list[int]:
        if h == 1:
            raise NotSupported("Not Supported")
        return [1, 0]

    def nvmlDeviceGetPersistenceMode(self, h: int) -> int:
        return 1 - h

    def nvmlDeviceGetPciInfo(self, h: int) -> Pci:
        return Pci(f"00000000:00:1{h}.0")


def test_real_nvml_is_absent_here() -> None:
    inv = collect_inventory()
    assert inv.available is False
    assert inv.reason is not None and inv.reason.startswith("NVML not available: ")
    assert inv.gpus == [] and inv.driver_version is None


def test_fake_nvml_with_gpus() -> None:
    nvml = FakeNvml()
    inv = collect_inventory(nvml)
    assert inv.available and inv.driver_version == "550.90.07" and inv.cuda_version == "12.4"
    h100, t4 = inv.gpus
    assert (h100.name, h100.memory_total_bytes, h100.mig_mode_current, h100.mig_mode_pending,
            h100.persistence_mode, h100.pci_bus_id) == (
        "NVIDIA H100 80GB HBM3", 85_520_809_984, True, False, True, "00000000:00:10.0")
    assert (t4.name, t4.mig_mode_current, t4.persistence_mode) == ("Tesla T4", None, False)
    assert t4.uuid.startswith("GPU-00000001")
    assert nvml.calls == ["init", "shutdown"]
    assert json.loads(json.dumps(inv.to_json()))["gpus"][1]["mig_mode_current"] is None


def test_driver_not_loaded_is_not_an_error() -> None:
    inv = collect_inventory(FakeNvml(init_error="Driver Not Loaded"))
    assert inv.to_json()["reason"] == "NVML not available: Driver Not Loaded"


def test_lost_gpu_mid_query_is_a_clean_error() -> None:
    nvml = FakeNvml(fail_name=True)
    with pytest.raises(HostError, match=r"^NVML: GPU is lost$"):
        collect_inventory(nvml)
    assert nvml.calls == ["init", "shutdown"]


def test_cli_inventory_without_driver() -> None:
    for args, check in ((["--json"], lambda out: json.loads(out)["available"] is False),
                        ([], lambda out: out.startswith("NVML not available: "))):
        r = subprocess.run([KINDLING, "gpu", "inventory", *args], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and "Traceback" not in r.stderr
        assert check(r.stdout), r.stdout


def test_help_and_detect_do_not_import_pynvml() -> None:
    code = ("import sys; from kindling.cli import main; main(['--help']);"
            "assert 'gpu' not in sys.modules and 'pynvml' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)
    code = ("import sys; from gpu.cli import main; from gpu.detect import detect;"
            "assert 'pynvml' not in sys.modules and 'pyudev' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


