"""Each service's own benchmark module, `bench/bench_<pkg>.py`, run as written.

A component's helper owns its module (runnable standalone, printing its figures and
budget ratios). The runner runs every module it finds, with the same interpreter and
a clean environment, and puts its output verbatim into RESULTS.md. A component whose
module is not there yet is listed as "not present" — its figures are never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bench.measure import clean_env, run_once
from bench.report import Block, Row
from bench.stats import Summary
from bench.target import REPO, Kindling

__all__ = ["EXPECTED", "ComponentModule", "find_modules", "run_components"]

SECTION = "Component benchmark modules (bench/bench_<pkg>.py)"
TIMEOUT_S = 180

# component → module names its helper may have chosen
EXPECTED: dict[str, tuple[str, ...]] = {
    "early-boot-config": ("bench_early_boot.py", "bench_earlyboot.py", "bench_early_boot_config.py"),
    "netdog": ("bench_netdog.py",),
    "growpart": ("bench_growpart.py",),
    "gpu": ("bench_gpu.py",),
    "kdump": ("bench_kdump.py",),
    "aws": ("bench_aws.py", "bench_platforms_aws.py", "bench_platforms.py"),
    "appliers": ("bench_appliers.py",),
}


# modules a section of bench/run.py runs itself: run here too, the in-guest boots ran twice
# (and hit TIMEOUT_S, leaving a "timed out" row in every RESULTS.md)
OWN_SECTION = {"bench_vm_guest.py": "vm"}


@dataclass(frozen=True)
class ComponentModule:
    component: str
    path: Path | None  # None: not present


def find_modules(bench_dir: Path = REPO / "bench") -> list[ComponentModule]:
    """Every expected component (present or not), then any other bench_*.py found."""
    found = {p.name: p for p in sorted(bench_dir.glob("bench_*.py"))}
    out: list[ComponentModule] = []
    claimed: set[str] = set()
    for component, names in EXPECTED.items():
        hit = next((found[n] for n in names if n in found), None)
        out.append(ComponentModule(component, hit))
        claimed.update(n for n in names if n in found)
    for name, path in found.items():
        if name not in claimed and name not in OWN_SECTION:
            out.append(ComponentModule(re.sub(r"^bench_|\.py$", "", name), path))
    return out


def run_components(k: Kindling, modules: list[ComponentModule]) -> tuple[list[Row], list[Block]]:
    rows: list[Row] = []
    blocks: list[Block] = []
    for mod in modules:
        if mod.path is None:
            rows.append(Row(SECTION, f"{mod.component}", "s", None, note="no bench module yet"))
            continue
        rel = mod.path.relative_to(REPO)
        sample = run_once(
            [k.python, str(mod.path)], env=clean_env({"PYTHONPATH": str(REPO)}), cwd=str(REPO), timeout=TIMEOUT_S
        )
        status = "ran" if sample.rc == 0 else "timed out" if sample.rc == -9 else f"exit {sample.rc}"
        note = "whole module, once; its own figures below"
        if sample.rc not in (0, -9):
            note += " (non-zero: the module's own verdict, e.g. over budget, or an error)"
        rows.append(
            Row(SECTION, f"{mod.component} (`{rel}`)", "s", Summary.of([sample.wall_ms / 1000]), status=status,
                note=note)
        )
        text = sample.stdout
        if sample.rc != 0 and sample.stderr.strip():
            text += "\n--- stderr (tail) ---\n" + "\n".join(sample.stderr.strip().splitlines()[-15:])
        blocks.append(Block(f"{mod.component}: output of `python {rel}`", text or "(no output)"))
    return rows, blocks
