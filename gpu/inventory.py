"""NVML inventory (issue 6, item 4): driver and CUDA versions, and per GPU its name,
UUID, memory, MIG mode and persistence mode, through nvidia-ml-py (`pynvml`).

`pynvml` costs ~80 ms to import, so it is imported only here, only when asked. No
driver (no libnvidia-ml, no kernel module, no GPU) is a normal state of a node, not a
failure: the result is `available: false` with "NVML not available: <reason>", and
the CLI exits 0. `collect_inventory(nvml)` takes any object with pynvml's functions:
the seam through which tests drive the "GPU present" side, since no GPU exists here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from kindling.errors import HostError

__all__ = ["GpuInfo", "Inventory", "Nvml", "collect_inventory", "load_nvml"]

T = TypeVar("T")


class Nvml(Protocol):
    """The part of pynvml Kindling uses (its names, so the real module fits; older
    releases return bytes for names)."""

    NVMLError: type[Exception]

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlSystemGetDriverVersion(self) -> str | bytes: ...
    def nvmlSystemGetCudaDriverVersion(self) -> int: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...
    def nvmlDeviceGetName(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetUUID(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any: ...
    def nvmlDeviceGetMigMode(self, handle: Any) -> Any: ...
    def nvmlDeviceGetPersistenceMode(self, handle: Any) -> int: ...
    def nvmlDeviceGetPciInfo(self, handle: Any) -> Any: ...


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    uuid: str
    pci_bus_id: str | None
    memory_total_bytes: int | None
    memory_used_bytes: int | None
    mig_mode_current: bool | None  # None: the GPU has no MIG
    mig_mode_pending: bool | None
    persistence_mode: bool | None


@dataclass(frozen=True)
class Inventory:
    available: bool
    reason: str | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    gpus: list[GpuInfo] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _cuda(version: int) -> str:
    """NVML's 12040 -> "12.4"."""
    return f"{version // 1000}.{(version % 1000) // 10}"


def load_nvml() -> Nvml | str:
    """The pynvml module, or the reason it cannot be imported."""
    try:
        import pynvml
    except ImportError as exc:
        return f"nvidia-ml-py is not importable: {exc}"
    module: Nvml = pynvml
    return module


def collect_inventory(nvml: Nvml | None = None) -> Inventory:
    """Ask NVML; an absent library or driver gives `available=False`, never a raise."""
    loaded = load_nvml() if nvml is None else nvml
    if isinstance(loaded, str):
        return Inventory(False, f"NVML not available: {loaded}")
    api = loaded
    try:
        api.nvmlInit()
    except api.NVMLError as exc:
        return Inventory(False, f"NVML not available: {exc}")
    try:
        return _query(api)
    except api.NVMLError as exc:
        raise HostError(f"NVML: {exc}") from exc
    finally:
        try:
            api.nvmlShutdown()
        except api.NVMLError:
            pass


def _query(api: Nvml) -> Inventory:
    def optional(fn: Callable[..., T], *args: Any) -> T | None:
        """A query some GPUs or drivers do not support (MIG, persistence) -> None."""
        try:
            return fn(*args)
        except api.NVMLError:
            return None

    gpus: list[GpuInfo] = []
    for index in range(api.nvmlDeviceGetCount()):
        handle = api.nvmlDeviceGetHandleByIndex(index)
        memory = optional(api.nvmlDeviceGetMemoryInfo, handle)
        mig = optional(api.nvmlDeviceGetMigMode, handle)
        persistence = optional(api.nvmlDeviceGetPersistenceMode, handle)
        pci = optional(api.nvmlDeviceGetPciInfo, handle)
        gpus.append(
            GpuInfo(
                index=index,
                name=_text(api.nvmlDeviceGetName(handle)),
                uuid=_text(api.nvmlDeviceGetUUID(handle)),
                pci_bus_id=_text(pci.busId) if pci is not None else None,
                memory_total_bytes=int(memory.total) if memory is not None else None,
                memory_used_bytes=int(memory.used) if memory is not None else None,
                mig_mode_current=bool(mig[0]) if mig is not None else None,
                mig_mode_pending=bool(mig[1]) if mig is not None else None,
                persistence_mode=bool(persistence) if persistence is not None else None,
            )
        )
    cuda = optional(api.nvmlSystemGetCudaDriverVersion)
    return Inventory(
        available=True,
        driver_version=_text(api.nvmlSystemGetDriverVersion()),
        cuda_version=_cuda(cuda) if cuda is not None else None,
        gpus=gpus,
    )
