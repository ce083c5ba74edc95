"""Suite-wide budgets of DESIGN §8 that need no peer: start-up, `boot --plan`, and the
peak RSS of every one-shot command.

Peak RSS rows are fed by every Kindling run of the whole benchmark (`Kindling.rss`),
so `growpart` measured against cloud-utils or `boot` measured against cloud-init count
too; `oneshots` adds the commands no other section runs.
"""

from __future__ import annotations

from functools import partial

from bench.janitor import Janitor
from bench.measure import Sample, run_once
from bench.report import Budget, PairRow, Row
from bench.stats import Summary, pair_ratios, paired, series
from bench.target import Kindling

__all__ = ["RSS_BUDGET_MB", "boot_plan", "help_vs_floor", "oneshots", "rss_rows"]

SECTION = "Suite budgets (DESIGN §8)"
RSS_SECTION = "Peak RSS of one-shot commands (DESIGN §8)"
RSS_BUDGET_MB = 25.0  # issue 20 (DESIGN §8: 40 MB)


def help_vs_floor(k: Kindling, runs: int, warmup: int) -> PairRow:
    """Three times the usual number of pairs: each costs ~30 ms, and the ratio of two
    small numbers on a shared 2-core machine needs them."""
    floor = [k.python, "-c", "pass"]
    help_ = k.argv("--help")
    a, b = paired(
        lambda: run_once(floor, env=k.env(), check=True, rss=False),
        lambda: run_once(help_, env=k.env(), check=True, rss=False),
        runs * 3,
        warmup,
    )
    k.record_rss("kindling --help", series(partial(run_once, help_, env=k.env()), runs, 0))
    return PairRow(
        SECTION,
        "cold start",
        "`python -c pass` (floor)",
        "`kindling --help`",
        "ms",
        Summary.of([s.wall_ms for s in a]),
        Summary.of([s.wall_ms for s in b]),
        Summary.of(pair_ratios([s.wall_ms for s in a], [s.wall_ms for s in b])),
        Budget("<=", 1.2, "x"),  # issue 20 (DESIGN §8: 2x)
        note=f"same binary: {k.python}",
    )


def boot_plan(k: Kindling, janitor: Janitor, runs: int, warmup: int) -> Row:
    root = k.demo_copy(janitor)
    argv = k.argv("boot", "--root", str(root), "--platform", "metal", "--plan")
    samples = series(partial(run_once, argv, env=k.env()), runs, warmup)
    k.record_rss("kindling boot --plan", samples)
    failed = sorted({s.rc for s in samples if s.rc != 0})
    return Row(
        SECTION,
        "`kindling boot --plan` on the embedded default (demo/root)",
        "ms",
        Summary.of([s.wall_ms for s in samples]),
        Budget("<=", 150, "ms"),
        note=_stages(samples[-1]),
        status=f"exit {failed} (timed anyway)" if failed else None,
    )


def _stages(sample: Sample) -> str:
    """The boot's summary line, plus the stages that failed."""
    lines = sample.stdout.strip().splitlines()
    failed = [ln.split()[0] + ": " + ln.split("failed:", 1)[1].strip()[:80] for ln in lines if " failed: " in ln]
    return "; ".join([*(lines[-1:] if lines else []), *failed])


def oneshots(k: Kindling, janitor: Janitor, runs: int, warmup: int) -> None:
    """Commands not run by another section, each on a fresh demo root (after a real
    boot, so `apiclient get` and `analyze` have something to read)."""
    root = k.demo_copy(janitor, "booted")
    run_once(k.argv("boot", "--root", str(root), "--platform", "metal"), env=k.env())
    units = janitor.tempdir("units")
    fresh = k.demo_copy(janitor, "fresh")  # --plan of first-boot work: nothing has run there yet
    plan = ("--root", str(fresh), "--plan")
    table: list[tuple[str, str, list[str]]] = [
        ("apiclient get", "apiclient", k.argv("apiclient", "--root", str(root), "get")),
        ("analyze", "analyze", k.argv("analyze", "--root", str(root))),
        ("units install", "units", k.argv("units", "install", "--root", str(units))),
        ("early-boot-config --plan", "early-boot-config", k.argv("early-boot-config", *plan, "--platform", "metal")),
        ("netdog generate-net-config --plan", "netdog", k.argv("netdog", "generate-net-config", *plan)),
        ("gpu detect", "gpu", k.argv("gpu", "detect", "--root", str(root))),
        ("kdump plan", "kdump", k.argv("kdump", "plan", "--root", str(root))),
        ("bootconfig show", "bootconfig", k.argv("bootconfig", "show", "--root", str(root))),
    ]
    for label, command, argv in table:
        if not k.has(command):
            k.rss.setdefault(f"kindling {label}", [])
            continue
        samples = series(partial(run_once, argv, env=k.env()), runs, warmup)
        k.record_rss(f"kindling {label}", samples)


def rss_rows(k: Kindling) -> list[Row]:
    rows = [
        Row(RSS_SECTION, f"peak RSS of peer: {label}", "MB", Summary.of(vals), note="for comparison")
        for label, vals in sorted(k.peer_rss.items())
        if vals
    ]
    for label in sorted(k.rss):
        samples = k.rss[label]
        if not samples:
            rows.append(Row(RSS_SECTION, f"peak RSS of `{label}`", "MB", None, Budget("<=", RSS_BUDGET_MB, "MB")))
            continue
        failed = sorted({s.rc for s in samples if s.rc != 0})
        note = f"exit codes {failed} in some runs" + (f": {_tail(samples)}" if _tail(samples) else "") if failed else ""
        rows.append(
            Row(
                RSS_SECTION,
                f"peak RSS of `{label}`",
                "MB",
                Summary.of([s.maxrss_mb for s in samples]),
                Budget("<=", RSS_BUDGET_MB, "MB"),
                note=note,
            )
        )
    return rows


def _tail(samples: list[Sample]) -> str:
    for s in samples:
        if s.rc != 0:
            text = (s.stderr or s.stdout).strip().splitlines()
            return text[-1][:160] if text else ""
    return ""
