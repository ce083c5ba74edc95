"""Where Kindling's first boot spends its time: `-X importtime` per module and the
cProfile top functions of `kindling boot` on a fresh copy of demo/root (issue 9 §4).
Both are written into RESULTS.md so the next speed-up is the first line of a table."""

from __future__ import annotations

import io
import pstats
import re
import statistics
from dataclasses import dataclass

from bench.janitor import Janitor
from bench.measure import run_once
from bench.report import Block
from bench.target import Kindling

__all__ = ["ImportLine", "importtime_table", "median_imports", "parse_importtime", "profile_blocks"]

_LINE = re.compile(r"^import time:\s+(\d+)\s*\|\s*(\d+)\s*\|(\s*)(\S+)\s*$")


@dataclass(frozen=True)
class ImportLine:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(stderr: str) -> list[ImportLine]:
    """The lines of `python -X importtime` (header and other stderr ignored)."""
    out = []
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if m:
            out.append(ImportLine(m.group(4), int(m.group(1)), int(m.group(2)), (len(m.group(3)) - 1) // 2))
    return out


def importtime_table(lines: list[ImportLine], top: int = 15) -> str:
    total_self = sum(x.self_us for x in lines)
    ours = [x for x in lines if x.module.split(".")[0] in _OURS]
    head = [
        f"{len(lines)} modules imported, {total_self / 1000:.1f} ms summed self time "
        f"({len(ours)} Kindling modules, {sum(x.self_us for x in ours) / 1000:.1f} ms of it).",
        "",
        "| module | self ms | cumulative ms |",
        "|---|--:|--:|",
    ]
    rows = sorted(lines, key=lambda x: x.self_us, reverse=True)[:top]
    body = [f"| `{x.module}` | {x.self_us / 1000:.2f} | {x.cumulative_us / 1000:.2f} |" for x in rows]
    tops = sorted((x for x in lines if x.depth == 0), key=lambda x: x.cumulative_us, reverse=True)[:top]
    tail = ["", "Top-level imports by cumulative time:", "", "| module | cumulative ms |", "|---|--:|"]
    tail += [f"| `{x.module}` | {x.cumulative_us / 1000:.2f} |" for x in tops]
    return "\n".join(head + body + tail)


_OURS = {"kindling", "early_boot", "netdog", "growpart", "gpu", "kdump", "platforms"}


def median_imports(runs: list[list[ImportLine]]) -> list[ImportLine]:
    """Per module, the median self and cumulative time over several runs (one run on a
    busy 2-core machine can put a 0.5 s stall on any module)."""
    by: dict[str, list[ImportLine]] = {}
    for run in runs:
        for line in run:
            by.setdefault(line.module, []).append(line)
    return [
        ImportLine(
            name,
            int(statistics.median(x.self_us for x in lines)),
            int(statistics.median(x.cumulative_us for x in lines)),
            lines[0].depth,
        )
        for name, lines in by.items()
    ]


# `kindling` ends with os._exit (no interpreter teardown), so `python -m cProfile` never
# reaches its dump; profile `main()` itself, the CLI module's import included.
_PROFILED_MAIN = """\
import cProfile, sys
prof = cProfile.Profile()
prof.enable()
from kindling.cli import main
code = main(sys.argv[2:])
prof.disable()
prof.dump_stats(sys.argv[1])
sys.exit(code)
"""


def profile_blocks(k: Kindling, janitor: Janitor, runs: int = 5, top: int = 15) -> list[Block]:
    boot = ("boot", "--platform", "metal", "--root")
    samples = []
    for _ in range(runs):
        root = k.demo_copy(janitor, "importtime")
        sample = run_once([k.python, "-X", "importtime", k.script, *boot, str(root)], env=k.env(), rss=False)
        samples.append(parse_importtime(sample.stderr))
    blocks = [
        Block(
            f"Profile: `-X importtime` of `kindling boot` (first boot, demo/root), top {top} by self time, "
            f"median of {runs} runs",
            importtime_table(median_imports(samples), top),
            code=False,
        )
    ]
    root = k.demo_copy(janitor, "cprofile")
    out = janitor.tempdir("cprofile") / "boot.prof"
    run_once([k.python, "-c", _PROFILED_MAIN, str(out), *boot, str(root)], env=k.env(), check=True, rss=False)
    for key, label in (("cumulative", "cumulative time"), ("tottime", "own time")):
        buf = io.StringIO()
        stats = pstats.Stats(str(out), stream=buf)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        text = buf.getvalue()
        text = text[text.find("   ncalls") :] if "   ncalls" in text else text
        total = re.search(r"(\d+) function calls.*? in ([\d.]+) seconds", buf.getvalue())
        head = f"{total.group(1)} calls in {float(total.group(2)) * 1000:.1f} ms (under cProfile)\n\n" if total else ""
        blocks.append(Block(f"Profile: cProfile of `kindling boot`, top {top} by {label}", head + text))
    return blocks
