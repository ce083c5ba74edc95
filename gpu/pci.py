"""PCI enumeration: every PCI function with its vendor, device, class and slot.

On the real root udev is asked through pyudev (libudev), the documented exception of
DESIGN §2; tests feed it made-up devices with `umockdev-run`. Under a root prefix
(image builders, the embedded default, tests) /sys is `<root>/sys`, as for every other
read: `<root>/sys/bus/pci/devices/*/{vendor,device,class}` are read as files, and no
such tree means no PCI devices — a prefixed run describes another machine, so the
build host's own GPUs must not leak into it (and `kindling boot --plan` does not pay
for importing pyudev, DESIGN §8). The attribute names are the kernel's, so both paths
yield the same records. Parsing a record is pure (`parse_device`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kindling import log
from kindling.errors import HostError, InputError
from kindling.host import Host
from kindling.record import record

__all__ = ["PciDevice", "list_pci_devices", "parse_device", "read_sysfs", "read_udev"]

_LOG = log.get("gpu")
_ATTRS = ("vendor", "device", "class", "subsystem_vendor", "subsystem_device")


@record(frozen=True)
class PciDevice:
    """One PCI function. `pci_class` is the 24-bit class code (0x030200 = 3D controller)."""

    slot: str
    vendor: int
    device: int
    pci_class: int
    subsystem_vendor: int | None = None
    subsystem_device: int | None = None
    model: str | None = None  # udev hwdb name (ID_MODEL_FROM_DATABASE) when known

    @property
    def base_class(self) -> int:
        return self.pci_class >> 16


def _hex(value: str | None, *, slot: str, key: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip().lower().removeprefix("0x"), 16)
    except ValueError:
        raise InputError(f"{key}: not a hexadecimal number", source=f"pci {slot}") from None


def parse_device(slot: str, attrs: Mapping[str, str], props: Mapping[str, str]) -> PciDevice:
    """Build a record from sysfs attributes, falling back to udev's `PCI_ID`/`PCI_CLASS`."""
    vendor = _hex(attrs.get("vendor"), slot=slot, key="vendor")
    device = _hex(attrs.get("device"), slot=slot, key="device")
    if (vendor is None or device is None) and "PCI_ID" in props:
        v, _, d = props["PCI_ID"].partition(":")
        vendor = _hex(v, slot=slot, key="PCI_ID")
        device = _hex(d, slot=slot, key="PCI_ID")
    pci_class = _hex(attrs.get("class") or props.get("PCI_CLASS"), slot=slot, key="class")
    if vendor is None or device is None:
        raise InputError("no vendor/device id", source=f"pci {slot}")
    return PciDevice(
        slot=slot,
        vendor=vendor,
        device=device,
        pci_class=pci_class or 0,
        subsystem_vendor=_hex(attrs.get("subsystem_vendor"), slot=slot, key="subsystem_vendor"),
        subsystem_device=_hex(attrs.get("subsystem_device"), slot=slot, key="subsystem_device"),
        model=props.get("ID_MODEL_FROM_DATABASE") or None,
    )


def _collect(records: Iterable[tuple[str, dict[str, str], dict[str, str]]]) -> list[PciDevice]:
    found: list[PciDevice] = []
    for slot, attrs, props in records:
        try:
            found.append(parse_device(slot, attrs, props))
        except InputError as exc:
            _LOG.warning("skipping unreadable PCI device", detail=str(exc))
    return sorted(found, key=lambda d: d.slot)


def read_udev() -> list[PciDevice]:
    """Every PCI device libudev knows (real sysfs, or umockdev's testbed)."""
    try:
        import pyudev
    except ImportError as exc:  # pragma: no cover - pyudev is a dependency
        raise HostError(f"pyudev is not importable: {exc}") from exc

    def records() -> Iterable[tuple[str, dict[str, str], dict[str, str]]]:
        try:
            context = pyudev.Context()
            devices = list(context.list_devices(subsystem="pci"))
        except (OSError, ImportError) as exc:
            raise HostError(f"udev: cannot enumerate PCI devices: {exc}") from exc
        for dev in devices:
            attrs: dict[str, str] = {}
            for name in _ATTRS:
                raw = dev.attributes.get(name)
                if raw is not None:
                    attrs[name] = raw.decode("ascii", "replace")
            props = {str(k): str(v) for k, v in dev.properties.items()}
            yield props.get("PCI_SLOT_NAME") or str(dev.sys_name), attrs, props

    return _collect(records())


def read_sysfs(host: Host) -> list[PciDevice]:
    """`<root>/sys/bus/pci/devices/*` read as plain files through the Host."""
    base = "/sys/bus/pci/devices"

    def records() -> Iterable[tuple[str, dict[str, str], dict[str, str]]]:
        for slot in host.listdir(base):
            attrs: dict[str, str] = {}
            for name in _ATTRS:
                text = host.read_optional(f"{base}/{slot}/{name}")
                if text is not None:
                    attrs[name] = text
            yield slot, attrs, {}

    return _collect(records())


def list_pci_devices(host: Host) -> list[PciDevice]:
    """PCI devices for `host`: `<root>/sys` under a root prefix, else udev."""
    if host.prefixed:
        return read_sysfs(host)
    return read_udev()
