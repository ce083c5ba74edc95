"""`kindling boot`: run every stage in boot order (DESIGN §4)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    import argparse
    import threading
    from typing import TextIO

    from kindling.boot import Stage

__all__ = ["BootOptions", "SlowStageNotice", "build_parser", "main", "quick_options"]

SLOW = 1.0  # seconds a stage may run silently before its line says it started


class SlowStageNotice:
    """On a terminal, a stage still running after a second gets a line saying so, so a
    person watching `kindling boot` knows what it waits on (a DHCP lease, IMDS…)."""

    def __init__(self, out: TextIO, *, after: float = SLOW) -> None:
        self.out = out
        self.after = after
        self._timer: threading.Timer | None = None

    def start(self, stage: Stage) -> None:
        import threading

        self.done()
        what = f" ({stage.description})" if stage.description else ""
        self._timer = threading.Timer(self.after, self._say, args=(f"{stage.name:<24} running…{what}\n",))
        self._timer.daemon = True
        self._timer.start()

    def _say(self, line: str) -> None:
        self.out.write(line)
        self.out.flush()

    def done(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from kindling.cli_common import Formatter, add_common

    parser = argparse.ArgumentParser(
        prog="kindling boot", formatter_class=Formatter,
        description="Run every boot stage in order (user data, network, disks, drivers, crash "
        "kernel, signals), print one line per stage and write the boot timeline.")
    parser.add_argument("--platform", default="auto", choices=PLATFORMS,
                        help="whose user-data providers run (default: kernel argument "
                        "kindling.platform=, else DMI)")
    parser.add_argument("--full", action="store_true",
                        help="run every stage, even those whose inputs are unchanged since the last boot")
    add_common(parser)
    return parser


PLATFORMS = ("auto", "aws", "vmware", "metal")
_FLAGS = {"--full": "full", "--plan": "plan", "--dry-run": "plan", "--json": "json"}
_VALUED: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "--root": ("root", None),
    "--platform": ("platform", PLATFORMS),
    "--log-format": ("log_format", ("text", "json")),
    "--log-level": ("log_level", ("debug", "info", "warning", "error")),
}


class BootOptions:
    """What `build_parser()` parses, with its defaults."""

    __slots__ = ("full", "json", "log_format", "log_level", "plan", "platform", "root")

    def __init__(self) -> None:
        self.platform = "auto"
        self.full = self.plan = self.json = False
        self.root: str | None = None
        self.log_format = "text"
        self.log_level = "info"

    @classmethod
    def of(cls, ns: argparse.Namespace) -> BootOptions:
        opts = cls()
        for name in cls.__slots__:
            setattr(opts, name, getattr(ns, name))
        return opts


def quick_options(argv: list[str]) -> BootOptions | None:
    """The plain forms a unit or a script runs `kindling boot` with, read without
    argparse (kindling/quick_argv.py); None: argparse parses (or refuses) `argv`."""
    from kindling.quick_argv import quick_parse

    opts = BootOptions()
    return opts if quick_parse(argv, opts, _FLAGS, _VALUED) else None


def main(argv: list[str]) -> int:
    """A boot is one bounded pass: its imports and stages make thousands of objects that
    live to its end, and few cycles. The cyclic GC is off while it runs (a later boot's
    13 collections, ~0.9 ms, freed nothing); after it, what the boot made counts as old
    (freeze, then unfreeze: into the oldest generation), so the next allocation does not
    walk it all as young, and the collector is as it was."""
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        gc.freeze()
        gc.unfreeze()
        if collecting:
            gc.enable()


def _main(argv: list[str]) -> int:
    args = quick_options(argv) or BootOptions.of(build_parser().parse_args(argv))
    from kindling import log
    from kindling.host import host_from_env

    log.configure(level=args.log_level, fmt=args.log_format)  # as cli_common.host_from_args
    host = host_from_env(args.root, plan=args.plan)

    from kindling.boot import StageRecord, format_record, run_boot
    from kindling.platform_id import resolve_platform

    platform = resolve_platform(host, args.platform)

    slow = SlowStageNotice(sys.stdout) if sys.stdout.isatty() and not args.json else None

    def show(record: StageRecord) -> None:
        if slow is not None:
            slow.done()
        if args.json:
            return
        sys.stdout.write(format_record(record) + "\n")
        for note in record.notes:
            sys.stdout.write(f"    {note}\n")
        if host.recording:
            diffs: dict[int, str] = getattr(host, "diffs", {})
            first = len(host.actions) - len(record.actions)
            for index, action in enumerate(record.actions):
                sys.stdout.write(f"    would {action}\n")
                for line in diffs.get(first + index, "").splitlines():
                    sys.stdout.write(f"      {line}\n")
        sys.stdout.flush()

    if not args.json:
        mode = " (plan: nothing will be changed)" if host.recording else ""
        sys.stdout.write(f"kindling boot: platform {platform}, root {host.real_root}{mode}\n")
    report = run_boot(host, platform, on_record=show, full=args.full,
                      on_start=slow.start if slow is not None else None)
    if args.json:
        from kindling.cli_common import emit_json
        from kindling.envelope import failure

        failed = next((r for r in report.records if r.status == "failed"), None)
        why = failure(f"{failed.name}: {failed.detail}", source=f"boot stage {failed.name}") if failed else None
        emit_json(report.to_json(), ok=report.ok, error=why)
    else:
        total = sum(r.duration for r in report.records) * 1000
        verdict = "ok" if report.ok else "FAILED"
        sys.stdout.write(f"boot {verdict}: {len(report.records)} stages in {total:.1f} ms\n")
    return 0 if report.ok else 1
