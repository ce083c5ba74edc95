"""Boot stage `gpu-drivers` (order 36: after early-boot-config, so a flavour set in user
data counts on the first boot): the `kindling boot` twin of the
kindling-gpu-* units. Acts only when NVIDIA, Neuron or EFA devices exist.

NVIDIA: link/copy the chosen flavour's modules sets, then load them. Neuron:
`modprobe neuron`. EFA: detected and reported; its module loads through udev
(Bottlerocket loads none either). A missing driver configuration on a GPU node fails
the stage loudly (a GPU node without drivers must not look healthy).
"""

from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok, skipped

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only

if TYPE_CHECKING:
    from gpu.detect import DetectReport
    from kindling.host import Host

__all__ = ["STAGE", "run"]


def _count(report: DetectReport, kind: str) -> str:
    n = len(report.of_kind(kind))
    return f"{n} device" + ("" if n == 1 else "s")


_PCI = "/sys/bus/pci/devices"
_VENDORS = (0x10DE, 0x1D0F)  # NVIDIA, Amazon (Neuron, EFA): gpu.device_ids, checked by a test


def _any_candidate(host: Host) -> bool:
    """One read of each PCI function's vendor: most nodes have no NVIDIA or Amazon
    device, and need neither the device tables nor udev (gpu.detect, ~10 ms)."""
    for slot in host.listdir(_PCI):
        text = host.read_optional(f"{_PCI}/{slot}/vendor")
        try:
            if text is not None and int(text.strip(), 16) in _VENDORS:
                return True
        except ValueError:
            return True  # unreadable: let detect say what it is
    return False


def run(ctx: BootContext) -> StageResult:
    host = ctx.host
    if not _any_candidate(host):
        return skipped("no NVIDIA/Neuron/EFA devices")
    from gpu.detect import detect

    report = detect(host)
    if not report.devices:
        return skipped("no NVIDIA/Neuron/EFA devices")
    # Only a node with devices pays for tomllib, tempfile and friends (DESIGN §8).
    from gpu.driver_config import DEFAULT_CONFIG_DIR, load_driver_configs, select_sets
    from gpu.flavor import MODULE_SETS
    from gpu.modules import kernel_release, link_modules, load_modules, load_neuron

    kver = kernel_release(host)
    parts: list[str] = []
    depmod_done = False
    flavor = report.choice.flavor
    sets = load_driver_configs(host, DEFAULT_CONFIG_DIR) if flavor is not None else {}
    if flavor is not None and not any(n in sets for n in MODULE_SETS[flavor].link):
        # no driverdog config covers it: the distribution's driver (DKMS, packaged)
        from gpu.detect import flavor_setting
        from gpu.distro import check_flavor, find_distro_driver, load_distro_driver

        nvidia = [d.device.device for d in report.of_kind("nvidia")]
        driver = check_flavor(find_distro_driver(host, kver), flavor, flavor_setting(host),
                              nvidia, kver)
        loaded = load_distro_driver(host, driver, kver)
        depmod_done = True
        parts.append(f"nvidia {driver.flavor} {driver.version} (distribution driver "
                     f"{driver.path}): loaded {' '.join(loaded)}")
        flavor = None
    if flavor is not None:
        names = MODULE_SETS[flavor]
        link = [s for n in names.link for s in select_sets(sets, n)]
        load = [s for n in names.load for s in select_sets(sets, n)]  # all found, then act
        installed = link_modules(host, link, kver)
        loaded = load_modules(host, load, kver)
        depmod_done = True
        parts.append(f"nvidia {flavor}: {installed.summary()}, loaded {' '.join(loaded)}")
    if report.of_kind("nvidia"):
        from gpu.distro import start_nvidia_units
        from gpu.pci import list_pci_devices

        started = start_nvidia_units(host, list_pci_devices(host))
        if started:
            parts.append(f"started {' '.join(started)}")
    if report.of_kind("neuron"):
        load_neuron(host, kver, depmod=not depmod_done)
        parts.append(f"neuron: {_count(report, 'neuron')}, loaded neuron")
    if report.of_kind("efa"):
        parts.append(f"efa: {_count(report, 'efa')} (its module loads through udev)")
    ctx.log.info("gpu drivers", flavor=flavor or "none", reason=report.choice.reason)
    return ok("; ".join(parts))


STAGE = Stage(
    name="gpu-drivers",
    order=36,
    run=run,
    unit=None,
    per_boot=True,
    description="link and load NVIDIA / Neuron kernel modules (units kindling-gpu-*.service)",
)
