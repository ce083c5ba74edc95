"""`make bench`: every budget of DESIGN §8 and every peer comparison, in one run,
written to bench/RESULTS.md (issue 9). See bench/README.md.

    <venv>/bin/python bench/run.py [--runs 7] [--warmup 1] [--only SECTION,…] [--out FILE]

Sections: suite, api, cloud-init, growpart, dhcp, components, profile, vm (in-guest boots under
systemd vs cloud-init, bench/bench_vm_guest.py; KINDLING_BENCH_VM_BOOTS each, default 3). Each section
runs on its own: one that fails is reported as failed in RESULTS.md and the others
still run. Everything created (temp roots, loop devices, namespaces, daemons) is
removed by its own name or id at the end, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.janitor import Janitor
from bench.report import Machine, Report, Row
from bench.target import REPO, Kindling, discover

__all__ = ["SECTIONS", "main"]

SECTIONS = ("suite", "api", "cloud-init", "growpart", "dhcp", "components", "profile", "vm")
ROOT_ONLY = {"cloud-init", "growpart", "dhcp", "vm"}


def _say(msg: str) -> None:
    sys.stderr.write(f"bench: {msg}\n")
    sys.stderr.flush()


def machine(runs: int, warmup: int) -> Machine:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    os_name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return Machine(
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cpus=os.cpu_count() or 0,
        cpu_model=model,
        python=platform.python_version(),
        interpreter=os.path.realpath(sys.executable),
        kernel=f"{platform.system()} {platform.release()} {platform.machine()}",
        os=os_name,
        runs=runs,
        warmup=warmup,
        load_start=_loadavg(),
    )


def _loadavg() -> str:
    """Other work on the machine skews every figure: the report says how busy it was."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _section(report: Report, name: str, fn: Callable[[], None]) -> None:
    _say(f"{name} …")
    t0 = time.monotonic()
    try:
        fn()
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one broken section must not lose the others' figures
        report.rows.append(Row(f"Section {name}", name, "", None, status=f"failed: {type(exc).__name__}: {exc}"[:300]))
        _say(f"{name} failed: {exc}")
    _say(f"{name} done in {time.monotonic() - t0:.1f} s")


def _tagged(report: Report, k: Kindling, fn: Callable[[], None]) -> Callable[[], None]:
    """Run `fn`, then name the interpreter in every section and budget line it added
    (the suites run on two interpreters: the venv's and the distribution's python3)."""

    def run() -> None:
        rows, pairs = len(report.rows), len(report.pairs)
        try:
            fn()
        finally:
            short = k.label.split(" (")[0]
            report.rows[rows:] = [replace(r, section=f"{r.section} — {k.label}", name=f"{r.name} [{short}]")
                                  for r in report.rows[rows:]]  # fmt: skip
            report.pairs[pairs:] = [replace(p, section=f"{p.section} — {k.label}", name=f"{p.name} [{short}]")
                                    for p in report.pairs[pairs:]]  # fmt: skip

    return run


def run(targets: list[Kindling], janitor: Janitor, report: Report, sections: set[str]) -> None:
    """Every section on the first target; the suites, the peers' boot comparison and DHCP
    on every target (the distribution's python3 is the interpreter cloud-init runs on)."""
    runs, warmup = report.machine.runs, report.machine.warmup
    from bench import suite

    k = targets[0]
    if os.geteuid() != 0:
        for name in sorted(sections & ROOT_ONLY):
            report.rows.append(Row(f"Section {name}", name, "", None, status="not present: needs root"))
        sections -= ROOT_ONLY

    for t in targets:
        if "suite" in sections:

            def do_suite(t: Kindling = t) -> None:
                report.pairs.append(suite.help_vs_floor(t, runs, warmup))
                report.rows.append(suite.boot_plan(t, janitor, runs, warmup))
                suite.oneshots(t, janitor, runs, warmup)

            _section(report, f"suite ({t.label})", _tagged(report, t, do_suite))
        if "cloud-init" in sections:
            from bench.peers.cloudinit import cloud_init_rows

            def do_ci(t: Kindling = t) -> None:
                rows, pairs, blocks, notes = cloud_init_rows(t, janitor, runs, warmup, _say)
                report.rows += rows
                report.pairs += pairs
                if t is k:
                    report.blocks += blocks
                    report.notes += notes

            _section(report, f"cloud-init ({t.label})", _tagged(report, t, do_ci))
        if "dhcp" in sections:
            from bench.peers.dhcp import dhcp_rows

            def do_dhcp(t: Kindling = t) -> None:
                rows, pairs = dhcp_rows(t, janitor, runs, warmup)
                report.rows += rows
                report.pairs += pairs

            _section(report, f"dhcp ({t.label})", _tagged(report, t, do_dhcp))
    if "api" in sections:
        from bench.apiload import apiserver_rows
        from bench.apiset import apiclient_set_rows

        def do_api() -> None:
            report.rows.extend(apiserver_rows(k, janitor, runs, warmup))
            rows, pair = apiclient_set_rows(k, janitor, runs, warmup)
            report.rows.extend(rows)
            report.pairs.append(pair)

        _section(report, "api", do_api)
    if "growpart" in sections:
        from bench.peers.growpart import growpart_rows

        def do_gp() -> None:
            rows, pairs = growpart_rows(k, janitor, runs, warmup)
            report.rows += rows
            report.pairs += pairs

        _section(report, "growpart", do_gp)
    if "components" in sections:
        from bench.components import find_modules, run_components

        def do_components() -> None:
            rows, blocks = run_components(k, find_modules())
            report.rows += rows
            report.blocks[:0] = blocks

        _section(report, "components", do_components)
    if "vm" in sections:
        from bench.bench_vm_guest import guest_rows

        boots = int(os.environ.get("KINDLING_BENCH_VM_BOOTS", "3"))
        _section(report, "vm", lambda: report.pairs.extend(guest_rows(boots)))
    if "profile" in sections:
        from bench.profile import profile_blocks

        _section(report, "profile", lambda: report.blocks.extend(profile_blocks(k, janitor, runs)))
    for t in targets:
        _tagged(report, t, lambda t=t: report.rows.extend(suite.rss_rows(t)))()  # type: ignore[misc]


def _order() -> list[str]:
    from bench import apiload, bench_vm_guest, components, suite
    from bench.peers import cloudinit, dhcp, growpart

    return [suite.SECTION, suite.RSS_SECTION, apiload.SECTION, cloudinit.SECTION, growpart.SECTION, dhcp.SECTION,
            bench_vm_guest.SECTION, components.SECTION]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="kept runs per figure (≥ 5 for RESULTS.md; default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded runs before them (default 1)")
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--out", default=str(REPO / "bench" / "RESULTS.md"), help="default: bench/RESULTS.md")
    parser.add_argument("--venv-only", action="store_true",
                        help="measure only this venv's Kindling, not also the one on the distribution's python3")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be ≥ 1 and --warmup ≥ 0")
    sections = set(SECTIONS) if not args.only else set(args.only.split(","))
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    t0 = time.monotonic()
    venv = discover()
    targets = [venv]
    if not args.venv_only:
        from bench.peers.cloudinit import cache_dir
        from bench.target import discover_system

        system = discover_system(cache_dir(), _say)
        if system is not None:
            targets = [system, venv]  # first: the profile and the components run on it
    report = Report(machine(args.runs, args.warmup), order=_order())
    report.notes.append("interpreters: " + "; ".join(t.label for t in targets) + " (each section title says which)")
    if args.runs < 5:
        report.notes.append(f"only {args.runs} runs per figure (--runs): a quick look, not a result")
    with Janitor().scope() as janitor:
        run(targets, janitor, report, sections)
    report.machine = replace(report.machine, duration_s=time.monotonic() - t0, load_end=_loadavg())
    Path(args.out).write_text(report.render())
    _say(f"wrote {args.out} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
