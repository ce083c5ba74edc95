"""`kindling gpu detect|match-driver|link-modules|load-modules|inventory` (wiring only).

`match-driver FLAVOR` is an `ExecCondition=`: exit 0 when FLAVOR is the one to use,
1 when it is not (systemd skips the unit), and 255 when the answer cannot be known
(systemd then fails the unit instead of silently skipping the driver). That is why
`_match` alone catches every exception: an uncaught one would exit 1, which systemd
reads as "condition false" and a GPU node would boot without its driver, quietly.
"""

from __future__ import annotations

import argparse
import sys

from kindling import log
from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.errors import KindlingError, UsageError

__all__ = ["build_parser", "main"]

_match_log = log.get("kindling gpu match-driver")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kindling gpu", description=(
        "GPU and accelerator drivers: detect NVIDIA, Neuron and EFA devices, choose the NVIDIA "
        "flavour (open or proprietary), link and load the driverdog module sets, report NVML facts."))
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("detect", help="list NVIDIA / Neuron / EFA devices and the flavour")
    add_common(d, acts=False)
    m = sub.add_parser("match-driver", help="exit 0 iff FLAVOR is the NVIDIA flavour to use")
    m.add_argument("flavor", help="open | proprietary (aliases: open-gpu, tesla)")
    add_common(m, acts=False, prints=False)
    for name, what in (("link-modules", "link or copy"), ("load-modules", "depmod + modprobe")):
        c = sub.add_parser(name, help=f"{what} the modules of driverdog sets")
        c.add_argument("--modules-set", metavar="NAME", help="only this set (default: all)")
        c.add_argument("-d", "--driver-config-path", metavar="DIR",
                       default="/etc/kindling/drivers", help="driverdog TOML directory")
        c.add_argument("--kernel-version", metavar="KVER",
                       help="target kernel (default: the running one)")
        if name == "load-modules":
            c.add_argument("--neuron", action="store_true",
                           help="load the Neuron driver if a Neuron device is present")
        add_common(c)
    i = sub.add_parser("inventory", help="driver, CUDA and per-GPU facts through NVML")
    add_common(i, acts=False)
    return p


def _detect(args: argparse.Namespace) -> int:
    from gpu.detect import detect

    report = detect(host_from_args(args))
    if args.json:
        emit_json(report.to_json())
        return 0
    for dev in report.devices:
        d = dev.device
        sys.stdout.write(f"{dev.kind:<7} {d.slot}  {d.vendor:04x}:{d.device:04x}  {dev.name}\n")
    if not report.devices:
        sys.stdout.write("no NVIDIA/Neuron/EFA devices\n")
    flavor = report.choice.flavor or "none"
    sys.stdout.write(f"nvidia flavour: {flavor} ({report.choice.reason})\n")
    return 0


def _match(args: argparse.Namespace) -> int:
    from gpu.detect import detect
    from gpu.flavor import parse_flavor_name

    wanted = parse_flavor_name(args.flavor)
    try:
        choice = detect(host_from_args(args)).choice
    except KindlingError as exc:
        _match_log.error(str(exc))
        return 255
    except Exception as exc:  # see the module docstring: exit 1 would mean "skip"
        _match_log.error(f"{type(exc).__name__}: {exc}")
        return 255
    if choice.flavor == wanted:
        return 0
    _match_log.info(f"{wanted} is not the driver to use: {choice.flavor or 'none'} ({choice.reason})")
    return 1


def _modules(args: argparse.Namespace) -> int:
    from gpu.driver_config import load_driver_configs, select_sets
    from gpu.modules import kernel_release, link_modules, load_modules, load_neuron

    host = host_from_args(args)
    kver = kernel_release(host, args.kernel_version)
    result: dict[str, object] = {"kernel": kver}
    if getattr(args, "neuron", False):
        from gpu.detect import detect

        if args.modules_set:
            raise UsageError("--neuron and --modules-set exclude each other")
        present = detect(host).of_kind("neuron")
        if present:
            load_neuron(host, kver)
        result["neuron"] = host.did("load", "the Neuron driver") if present else "no Neuron device"
    else:
        sets = select_sets(
            load_driver_configs(host, args.driver_config_path),
            args.modules_set,
            directory=args.driver_config_path,
        )
        result["sets"] = [s.name for s in sets]
        if args.cmd == "link-modules":
            report = link_modules(host, sets, kver)
            result.update(installed=report.installed, unchanged=report.unchanged)
        else:
            result["loaded"] = load_modules(host, sets, kver)
    if host.recording:
        result["plan"] = list(host.actions)
    if args.json:
        emit_json(result)
    else:
        for key, value in result.items():
            if key == "plan" and isinstance(value, list):
                sys.stdout.writelines(f"would {action}\n" for action in value)
                continue
            shown = " ".join(value) if isinstance(value, list) else value
            sys.stdout.write(f"{key}: {shown}\n")
    return 0


def _inventory(args: argparse.Namespace) -> int:
    from gpu.inventory import collect_inventory

    host_from_args(args)  # logging set-up; NVML is the kernel's, not under --root
    inv = collect_inventory()
    if args.json:
        emit_json(inv.to_json())
    elif not inv.available:
        sys.stdout.write(f"{inv.reason}\n")
    else:
        sys.stdout.write(f"driver {inv.driver_version}, CUDA {inv.cuda_version}\n")
        for g in inv.gpus:
            mem = f"{(g.memory_total_bytes or 0) // 2**20} MiB"
            sys.stdout.write(f"{g.index}: {g.name} {g.uuid} {mem} mig={g.mig_mode_current} "
                             f"persistence={g.persistence_mode}\n")
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "detect": _detect,
        "match-driver": _match,
        "link-modules": _modules,
        "load-modules": _modules,
        "inventory": _inventory,
    }
    return handlers[args.cmd](args)
