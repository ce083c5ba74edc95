"""Benchmark: `kindling kdump plan` and the bootconfig format.

Figures:
1. `kdump plan` in process (read the planted kernel facts + make the plan), median of
   many runs;
2. `kindling kdump plan --json` as systemd runs it (fresh interpreter, planted root):
   median / worst wall time against DESIGN §8's `boot --plan` budget (150 ms, the
   whole boot path, so one command must sit well inside it) and peak RSS against the
   one-shot service budget (40 MB); the interpreter floor is printed beside it;
3. bootconfig parse + render of the largest conformance sample, and of a config at the
   kernel's 32766-byte limit (plus footer write/read) — budget 15 ms for the latter
   (a tenth of the boot budget; not in DESIGN, chosen here).

    python bench/bench_kdump.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kdump.facts import read_facts  # noqa: E402
from kdump.plan import make_plan  # noqa: E402
from kindling.bootconfig import (  # noqa: E402
    parse_bootconfig,
    read_footer,
    render_bootconfig,
    render_compact,
    write_footer,
)
from kindling.host import Host  # noqa: E402

PLAN_BUDGET_MS = 150.0
RSS_BUDGET_MB = 40.0
PARSE_BUDGET_MS = 15.0
GiB = 1 << 30


def plant(root: Path) -> None:
    files = {
        "proc/meminfo": f"MemTotal: {16 * GiB // 1024} kB\n",
        "sys/kernel/kexec_crash_size": "0\n",
        "sys/kernel/kexec_crash_loaded": "0\n",
        "proc/sys/kernel/kexec_load_disabled": "0\n",
        "proc/cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet\n",
        "proc/sys/kernel/osrelease": "6.1.0-bench\n",
        "proc/sys/kernel/arch": "x86_64\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall ms, peak RSS MB, exit status) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def big_config() -> str:
    lines: list[str] = []
    size = i = 0
    while True:
        line = f'kernel.param{i}.sub{i % 7} = "value-{i}", "x{i}"\n'
        if size + len(line) > 32766:
            return "".join(lines)
        lines.append(line)
        size += len(line)
        i += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory(prefix="kindling-bench-kdump-") as tmp:
        root = Path(tmp) / "root"
        plant(root)
        host = Host(root)
        in_proc = timed(lambda: make_plan({}, read_facts(host)), 200)
        print(f"kdump plan (in process, 200 runs): median {statistics.median(in_proc):.3f} ms")

        floor = statistics.median(run_child([sys.executable, "-c", "pass"], env)[0]
                                  for _ in range(5))
        argv = [sys.executable, "-m", "kindling.cli", "kdump", "plan", "--json", "--root",
                str(root)]
        run_child(argv, env)  # warm the page cache and create the datastore
        samples = [run_child(argv, env) for _ in range(args.runs)]
        if any(rc != 0 for _, _, rc in samples):
            print("kdump plan failed", file=sys.stderr)
            return 1
        walls = [w for w, _, _ in samples]
        rss = max(r for _, r, _ in samples)
        med = statistics.median(walls)
        print(f"kindling kdump plan --json ({args.runs} runs): median {med:.1f} ms, "
              f"worst {max(walls):.1f} ms, interpreter floor {floor:.1f} ms; "
              f"budget {PLAN_BUDGET_MS:.0f} ms -> ratio {med / PLAN_BUDGET_MS:.2f}")
        print(f"peak RSS {rss:.1f} MB; budget {RSS_BUDGET_MB:.0f} MB -> ratio "
              f"{rss / RSS_BUDGET_MB:.2f}")

    bases = [Path(os.environ["KINDLING_CONFORMANCE_DIR"])] if os.environ.get(
        "KINDLING_CONFORMANCE_DIR") else []
    bases += [REPO.parent / "shared" / "conformance", REPO.parent.parent / "shared" / "conformance"]
    samples_dir = next((b for b in bases if b.is_dir()), bases[-1]) / "linux-bootconfig/samples"
    goods = sorted(samples_dir.glob("good-*.bconf"), key=lambda p: p.stat().st_size)
    if goods:
        largest = goods[-1]
        text = largest.read_text()
        t = timed(lambda: render_compact(parse_bootconfig(text)), 500)
        print(f"bootconfig parse+render {largest.name} ({len(text)} bytes, 500 runs): "
              f"median {statistics.median(t) * 1000:.1f} us")
    else:
        print("conformance samples not found: skipping the largest-sample figure")
    text = big_config()
    cfg = parse_bootconfig(text)
    parse_ms = statistics.median(timed(lambda: parse_bootconfig(text), 30))
    render_ms = statistics.median(timed(lambda: render_bootconfig(cfg), 30))
    footer_ms = statistics.median(timed(lambda: read_footer(write_footer(text)), 30))
    print(f"bootconfig at the limit ({len(text)} bytes, {len(cfg)} keys): parse "
          f"{parse_ms:.2f} ms, render {render_ms:.2f} ms, footer write+read {footer_ms:.2f} ms; "
          f"budget {PARSE_BUDGET_MS:.0f} ms -> ratio {parse_ms / PARSE_BUDGET_MS:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
