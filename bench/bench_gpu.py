"""Benchmark for `gpu/` (issue 6): detection wall time under umockdev, flavour choice,
match-driver (the ExecCondition every GPU unit pays), and peak RSS (DESIGN §8).

    python bench/bench_gpu.py [--runs N]

Floors are measured the same way as the thing measured: `python -c pass` run by the
same interpreter (sys.executable), and that floor under `umockdev-run` too, so the
ratio shows Kindling's own cost. Budgets: one-shot peak RSS <= 40 MB (§8); detect and
match-driver <= 2x their floor (our target, by analogy with `kindling --help`).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

KINDLING = str(Path(sys.executable).with_name("kindling"))
DEVICES = """\
P: /devices/pci0000:00/0000:00:1e.0
E: SUBSYSTEM=pci
E: PCI_SLOT_NAME=0000:00:1e.0
A: vendor=0x10de
A: device=0x2330
A: class=0x030200

P: /devices/pci0000:00/0000:00:1f.0
E: SUBSYSTEM=pci
A: vendor=0x1d0f
A: device=0xefa1
A: class=0x020000
"""
RSS_BUDGET_MB = 40.0


def wall(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall ms over `runs`, and the peak child RSS in MB seen so far."""
    env = dict(os.environ)
    env.pop("KINDLING_ROOT", None)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=False, capture_output=True, env=env)
        times.append((time.perf_counter() - t0) * 1000)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return statistics.median(times), rss


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs

    from gpu.device_ids import open_gpu_list
    from gpu.flavor import choose_flavor

    t0 = time.perf_counter()
    lst = open_gpu_list()
    load_ms = (time.perf_counter() - t0) * 1000
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n):
        choose_flavor([0x2330] * 8, lst)
    choose_us = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    for _ in range(n):
        choose_flavor([0x2330, 0x1EB8], lst)
    mixed_us = (time.perf_counter() - t0) / n * 1e6
    from gpu.detect import detect
    from kindling.host import Host

    with tempfile.TemporaryDirectory() as tmp:
        slot = Path(tmp) / "sys/bus/pci/devices/0000:00:1e.0"
        slot.mkdir(parents=True)
        for attr, value in (("vendor", "0x10de"), ("device", "0x2330"), ("class", "0x030200")):
            (slot / attr).write_text(value + "\n")
        host = Host(tmp)
        samples = []
        for _ in range(200):
            t0 = time.perf_counter()
            detect(host)
            samples.append((time.perf_counter() - t0) * 1000)
    print(f"open-module list load (819 rows): {load_ms:.2f} ms")
    print(f"detect in process, planted H100 under a root: {statistics.median(samples):.3f} ms")
    print(f"flavour choice, 8x H100: {choose_us:.2f} us; mixed H100+T4: {mixed_us:.2f} us")

    floor, _ = wall([sys.executable, "-c", "pass"], runs)
    print(f"floor: python -c pass: {floor:.1f} ms")
    if shutil.which("umockdev-run") is None:
        print("umockdev-run not installed: skipping detection timings")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        dev = Path(tmp) / "p5.umockdev"
        dev.write_text(DEVICES)
        um = ["umockdev-run", "-d", str(dev), "--"]
        um_floor, _ = wall([*um, sys.executable, "-c", "pass"], runs)
        detect_ms, rss_detect = wall([*um, KINDLING, "gpu", "detect", "--json"], runs)
        match_ms, rss_match = wall([*um, KINDLING, "gpu", "match-driver", "open"], runs)
        inv_ms, rss_inv = wall([KINDLING, "gpu", "inventory", "--json"], runs)
    print(f"floor under umockdev-run: {um_floor:.1f} ms")
    print(f"gpu detect --json (H100 + EFA, umockdev): {detect_ms:.1f} ms  "
          f"(own cost {detect_ms - um_floor:.1f} ms; ratio to floor "
          f"{detect_ms / um_floor:.2f}x, target <= 2x)")
    print(f"gpu match-driver open (umockdev): {match_ms:.1f} ms  "
          f"(ratio {match_ms / um_floor:.2f}x, target <= 2x)")
    print(f"gpu inventory --json (no NVML here): {inv_ms:.1f} ms  (ratio {inv_ms / floor:.2f}x)")
    peak = max(rss_detect, rss_match, rss_inv)
    print(f"peak RSS of any child: {peak:.1f} MB  (budget {RSS_BUDGET_MB:.0f} MB: "
          f"{peak / RSS_BUDGET_MB:.2f} of budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
