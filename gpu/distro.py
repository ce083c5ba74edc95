"""NVIDIA drivers the distribution installed (DKMS or a packaged nvidia.ko, no driverdog TOML).

Used when no driverdog modules set covers the chosen flavour. The module is found
in the kernel's own `modules.dep` (depmod keeps one path per name: the one modprobe
loads), and `modinfo` (through the Host runner, read-only) says what it is: `version`,
and the flavour from `license` — the open kernel modules are "Dual MIT/GPL", the
proprietary ones "NVIDIA" — as `supported` (SUSE's "external") is informative only.
The flavour rule stays the one of flavor.py: a flavour forced in settings must be the
installed one; with `auto`, installed open modules must cover every GPU present (the
shipped open list), and proprietary ones are taken as they are. No driver at all on a
node with a GPU fails, naming what to install.

After loading: `nvidia-persistenced` is started, and on NVSwitch systems (PCI vendor
0x10de, class 0x0680: p4d/p5) `nvidia-fabricmanager`, each when its unit is installed,
as Bottlerocket's units do.
"""

from __future__ import annotations

from gpu.errors import GpuError
from gpu.pci import PciDevice
from kindling.host import Host
from kindling.record import record

__all__ = ["DistroDriver", "find_distro_driver", "load_distro_driver", "start_nvidia_units"]

SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")
EXTRA = ("nvidia-modeset", "nvidia-uvm")
UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
INSTALL_HINT = ("install the distribution's NVIDIA kernel driver (Debian/Ubuntu: "
                "nvidia-open-kernel-dkms or nvidia-kernel-dkms; Fedora/RHEL: kmod-nvidia-open "
                "or akmod-nvidia) or a driverdog config in /etc/kindling/drivers")


@record(frozen=True)
class DistroDriver:
    path: str  # under /lib/modules/<kver>/
    version: str
    flavor: str  # open | proprietary
    license: str
    modules: tuple[str, ...]  # nvidia and its companions present in modules.dep


def _module_paths(host: Host, kver: str) -> dict[str, str]:
    text = host.read_optional(f"/lib/modules/{kver}/modules.dep") or ""
    found: dict[str, str] = {}
    for line in text.splitlines():
        path = line.split(":", 1)[0].strip()
        base = path.rsplit("/", 1)[-1]
        for suffix in SUFFIXES:
            if base.endswith(suffix):
                found.setdefault(base[: -len(suffix)].replace("_", "-"), path)
    return found


def _modinfo(host: Host, path: str) -> dict[str, str]:
    out = host.run(["modinfo", path], read_only=True, timeout=30).stdout.decode("utf-8", "replace")
    fields: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def find_distro_driver(host: Host, kver: str) -> DistroDriver | None:
    """The installed nvidia module of kernel `kver`, or None."""
    paths = _module_paths(host, kver)
    if "nvidia" not in paths:
        return None
    rel = paths["nvidia"]
    full = rel if rel.startswith("/") else f"/lib/modules/{kver}/{rel}"
    info = _modinfo(host, str(host.path(full)))
    lic = info.get("license", "")
    flavor = "proprietary" if lic.strip().upper() == "NVIDIA" else "open"
    mods = ("nvidia", *(m for m in EXTRA if m in paths))
    return DistroDriver(full, info.get("version", "unknown"), flavor, lic, mods)


def check_flavor(driver: DistroDriver | None, wanted: str, setting: str, nvidia: list[int],
                 kver: str) -> DistroDriver:
    """The driver to load under the flavour rule (module docstring), or GpuError."""
    ids = ", ".join(f"10de:{d:04x}" for d in nvidia)
    if driver is None:
        raise GpuError(f"NVIDIA GPU present ({ids}) but no driver: no driverdog modules set "
                       f"and no nvidia module in /lib/modules/{kver}/modules.dep; {INSTALL_HINT}")
    if setting not in ("auto", driver.flavor):
        raise GpuError(f"settings.gpu.nvidia.flavor = {setting}, but the installed nvidia "
                       f"module ({driver.path}, {driver.version}) is {driver.flavor}")
    if setting == "auto" and driver.flavor == "open" and wanted != "open":
        raise GpuError(f"the installed nvidia module ({driver.path}) is the open flavour, which "
                       f"does not drive every GPU present ({ids}): install the proprietary driver")
    return driver


def load_distro_driver(host: Host, driver: DistroDriver, kver: str) -> list[str]:
    """`modprobe -a` the driver's modules (modules.dep already lists them: no depmod)."""
    root = ["-d", str(host.root)] if host.prefixed else []
    host.run(["modprobe", *root, "-S", kver, "-a", *driver.modules])
    return list(driver.modules)


def _has_unit(host: Host, unit: str) -> bool:
    return any(host.exists(f"{d}/{unit}") for d in UNIT_DIRS)


def start_nvidia_units(host: Host, devices: list[PciDevice]) -> list[str]:
    """Start persistenced, and fabricmanager on NVSwitch systems, when installed."""
    units = ["nvidia-persistenced.service"]
    if any(d.vendor == 0x10DE and d.pci_class >> 8 == 0x0680 for d in devices):
        units.append("nvidia-fabricmanager.service")
    started = [u for u in units if _has_unit(host, u)]
    for unit in started:
        host.run(["systemctl", "start", "--no-block", unit], timeout=60)
    return started
