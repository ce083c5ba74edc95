"""Detection: which NVIDIA GPUs, Neuron accelerators and EFA adapters a node has, and
the NVIDIA flavour it takes (issue 6, items 1-2).

NVIDIA devices are vendor 0x10de with a display-controller base class (0x03: VGA or
3D controller), so the NVSwitch bridges of p4d/p5 nodes (class 0x0680) do not count
as GPUs. Neuron and EFA devices are vendor 0x1d0f with an id from the shipped lists.
`classify` is pure; `detect` adds the Host reads (PCI, the flavour setting).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gpu.device_ids import (
    AMAZON_VENDOR,
    NVIDIA_VENDOR,
    AmazonIds,
    OpenGpuList,
    amazon_ids,
    open_gpu_list,
)
from gpu.flavor import FlavorChoice, choose_flavor, parse_flavor_setting
from gpu.pci import PciDevice, list_pci_devices
from kindling.host import Host
from kindling.record import record

__all__ = ["DetectReport", "Detected", "classify", "detect", "flavor_setting"]

KINDS = ("nvidia", "neuron", "efa")
_DISPLAY_CLASS = 0x03


@record(frozen=True)
class Detected:
    kind: str  # "nvidia" | "neuron" | "efa"
    name: str
    device: PciDevice

    def to_json(self) -> dict[str, Any]:
        d = self.device
        return {
            "kind": self.kind,
            "vendor": f"0x{d.vendor:04x}",
            "device": f"0x{d.device:04x}",
            "name": self.name,
            "slot": d.slot,
            "class": f"0x{d.pci_class:06x}",
        }


@record(frozen=True)
class DetectReport:
    devices: list[Detected]
    setting: str
    choice: FlavorChoice

    def of_kind(self, kind: str) -> list[Detected]:
        return [d for d in self.devices if d.kind == kind]

    def to_json(self) -> dict[str, Any]:
        return {
            "devices": [d.to_json() for d in self.devices],
            "counts": {k: len(self.of_kind(k)) for k in KINDS},
            "nvidia_flavor": self.choice.flavor,
            "nvidia_flavor_reason": self.choice.reason,
            "flavor_setting": self.setting,
        }


def classify(
    devices: Iterable[PciDevice], open_list: OpenGpuList, amazon: AmazonIds
) -> list[Detected]:
    """Keep the devices Kindling drives, each named (udev hwdb, else the shipped lists)."""
    found: list[Detected] = []
    for dev in devices:
        if dev.vendor == NVIDIA_VENDOR and dev.base_class == _DISPLAY_CLASS:
            name = dev.model or open_list.name(dev.device) or f"NVIDIA GPU 0x{dev.device:04x}"
            found.append(Detected("nvidia", name, dev))
        elif dev.vendor == AMAZON_VENDOR and dev.device in amazon.neuron:
            found.append(Detected("neuron", dev.model or amazon.neuron[dev.device], dev))
        elif dev.vendor == AMAZON_VENDOR and dev.device in amazon.efa:
            found.append(Detected("efa", dev.model or amazon.efa[dev.device], dev))
    return found


# DESIGN §3; equal to kindling.datastore.DATASTORE_PATH (a test checks), named here so
# a node without a datastore does not pay for importing sqlite3 (DESIGN §8).
DATASTORE_PATH = "/var/lib/kindling/datastore.sqlite3"


def flavor_setting(host: Host) -> str:
    """`settings.gpu.nvidia.flavor` from the live settings; `auto` with no datastore."""
    if not host.exists(DATASTORE_PATH):
        return "auto"
    from kindling.api.service import SettingsService

    tree = SettingsService(host).get_settings()
    node: Any = tree.get("gpu", {})
    node = node.get("nvidia", {}) if isinstance(node, dict) else {}
    value = node.get("flavor") if isinstance(node, dict) else None
    return parse_flavor_setting(value, source="datastore")


def detect(host: Host, devices: list[PciDevice] | None = None) -> DetectReport:
    """Enumerate (unless `devices` is given), classify and choose the NVIDIA flavour."""
    present = list_pci_devices(host) if devices is None else devices
    has_nvidia = any(d.vendor == NVIDIA_VENDOR for d in present)
    open_list = open_gpu_list() if has_nvidia else OpenGpuList({}, {})
    found = classify(present, open_list, amazon_ids())
    nvidia = [d.device.device for d in found if d.kind == "nvidia"]
    setting = flavor_setting(host) if nvidia else "auto"
    return DetectReport(found, setting, choose_flavor(nvidia, open_list, setting))
