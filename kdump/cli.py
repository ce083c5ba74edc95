"""`kindling kdump plan|load|capture|status` (DESIGN §4): wiring only."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kindling import log
from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.host import Host

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kindling kdump", description=(
        "Kernel crash dumps: size the reservation, load the crash kernel, capture and "
        "keep dumps."))
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="crashkernel sizing and what must change")
    plan.add_argument("--reserve", action="store_true",
                      help="write the reservation into settings.boot (a reboot applies it)")
    add_common(plan)
    load = sub.add_parser("load", help="load the crash kernel (kexec -p)")
    load.add_argument("--disable-kexec-load", action="store_true",
                      help="then set kernel.kexec_load_disabled=1")
    add_common(load)
    add_common(sub.add_parser("capture", help="save a dump (only inside the crash kernel)"))
    add_common(sub.add_parser("status", help="list saved dumps"), acts=False)
    return parser


def _settings(host: Host) -> dict[str, Any]:
    from kindling.api.service import SettingsService

    return SettingsService(host).get_settings()


def _plan(args: argparse.Namespace, host: Host) -> int:
    from kdump.arming import crashkernel_carrier
    from kdump.facts import read_facts
    from kdump.plan import make_plan
    from kdump.reserve import write_reservation
    from kdump.sizing import format_bytes

    plan = make_plan(_settings(host), read_facts(host))
    done = write_reservation(host, plan) if args.reserve else []
    carrier = crashkernel_carrier(host, _settings(host)) if plan.crashkernel else None
    if args.json:
        emit_json({**plan.to_json(), "written": done, "actions": host.actions,
                   "carried_by": carrier.to_json() if carrier else None})
        return 0
    arg = plan.crashkernel or "(none)"
    lines = [
        f"memory:        {format_bytes(plan.memory_bytes)}",
        f"crashkernel:   {arg}  [{plan.source}] -> {format_bytes(plan.planned_bytes)}",
        f"reserved now:  {format_bytes(plan.reserved_now_bytes)}"
        + (f" (crashkernel={plan.running_crashkernel})" if plan.running_crashkernel else ""),
        f"needs reboot:  {'yes' if plan.needs_reboot else 'no'}",
        *([f"carried by:    {carrier.describe()}; in effect: "
           f"{'yes' if carrier.in_effect else 'no'}"] if carrier else []),
        *(f"change:        {c}" for c in plan.changes),
        *(f"warning:       {w}" for w in plan.warnings),
        *(f"done:          {d}" for d in done),
        *(f"plan:          {a}" for a in (host.actions if host.recording else [])),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _load(args: argparse.Namespace, host: Host) -> int:
    from kdump.arming import set_panic_on_oops
    from kdump.load import LoadResult, load_crash_kernel
    from kdump.plan import kdump_enabled

    settings = _settings(host)
    set_panic_on_oops(host, settings, kdump_enabled(settings))
    if kdump_enabled(settings):
        result = load_crash_kernel(host, disable_kexec_load=args.disable_kexec_load)
    else:
        result = LoadResult(False, "settings.kdump.enabled is false: not loading")
    if args.json:
        emit_json({"loaded": result.loaded, "detail": result.detail, "argv": list(result.argv),
                   "actions": host.actions})
    else:
        sys.stdout.write(result.detail + "\n")
        for action in host.actions if host.recording else []:
            sys.stdout.write(f"  plan: {action}\n")
    return 0


def _capture(args: argparse.Namespace, host: Host) -> int:
    from kdump.capture import capture_dump
    from kindling.errors import KindlingError

    try:
        settings = _settings(host)
    except KindlingError as exc:
        # in the crash kernel a dump matters more than the settings: use the defaults
        log.get("kdump capture").warning(f"settings unreadable ({exc}); using defaults")
        settings = {}
    result = capture_dump(host, settings)
    if args.json:
        emit_json({**result.to_json(), "actions": host.actions})
    else:
        sys.stdout.write(host.did("save", f"the dump in {result.path}") + "\n")
        for name in result.removed:
            sys.stdout.write(host.did("remove", f"old dump {name}") + "\n")
        for note in result.notes:
            sys.stdout.write(f"note: {note}\n")
        for action in host.actions if host.recording else []:
            sys.stdout.write(f"    would {action}\n")
    return 0


def _status(args: argparse.Namespace, host: Host) -> int:
    from kdump.dumps import list_dumps
    from kdump.facts import read_facts
    from kdump.sizing import format_bytes

    facts = read_facts(host)
    dumps = list_dumps(host)
    last = dumps[-1] if dumps else None
    if args.json:
        emit_json({"reserved_bytes": facts.reserved_now_bytes, "loaded": facts.crash_loaded,
                   "in_crash_kernel": facts.in_crash_kernel,
                   "last_capture": last.to_json() if last else None,
                   "dumps": [d.to_json() for d in dumps]})
        return 0
    lines = [f"reserved:      {format_bytes(facts.reserved_now_bytes)}",
             f"loaded:        {'yes' if facts.crash_loaded else 'no'}",
             "last capture:  " + (f"{last.name} {last.status}" if last else "none")]
    lines += [f"dump:          {d.name}  {d.status}{f' ({d.detail})' if d.detail else ''}  "
              f"{format_bytes(d.bytes)}" for d in dumps]
    if not dumps:
        lines.append("no crash dumps")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    handler = {"plan": _plan, "load": _load, "capture": _capture, "status": _status}
    return handler[args.command](args, host)
