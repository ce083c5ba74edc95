"""Fleet simulation (issue 10, item 6): 1,000 nodes boot at once against ONE throttled IMDS.

Each simulated node runs the real early-boot-config in process — `run_early_boot`
with the real EC2 providers, the real IMDSv2 client over real HTTP, validation, a
datastore commit and the marker on its own root (under /dev/shm when it exists) — in
its own thread. All of them talk to one IMDS emulator (tests/imds_emulator.py) that
serves at most `--rate` requests per second and answers 429 beyond it, with
`Retry-After: 1` or without one (then only the client's jittered Fibonacci backoff
spreads the retries).

Time is scaled: every node's Host clock and the emulator's throttle run `--scale`
times faster than the wall clock (a 1 s Retry-After waits 1/scale s), so a boot storm
of minutes runs in seconds. All figures below are in simulated seconds; the per-node
Python work (~6 ms of CPU per boot, serialised by the GIL) is not scaled and shows up
as extra simulated time, so the times are an upper bound.

    python bench/bench_fleet.py [--nodes 1000] [--rate 200] [--scale 4] [--window 10]

Reports per scenario: nodes booted, p50/p99/max boot time, HTTP requests and 429s, the
peak request rate the fleet produced (1 s windows) against the throttle, and the
makespan against the ideal (3 requests per node at the throttled rate).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from early_boot.runner import run_early_boot  # noqa: E402
from kindling import log  # noqa: E402
from kindling.host import Host  # noqa: E402
from platforms.aws.providers import IDENTITY_DOCUMENT, IMDS_USER_DATA  # noqa: E402
from tests.imds_emulator import ImdsEmulator  # noqa: E402

USER_DATA = '[settings]\nmotd = "fleet"\n[settings.kubernetes]\ncluster-name = "fleet"\n'
REQUESTS_PER_BOOT = 3  # token PUT, identity document, user data


class ScaledClock:
    """Simulated time running `scale` times faster than the wall clock (Host Clock protocol)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._t0 = time.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self._t0) * self.scale

    def time(self) -> float:
        return 1_700_000_000.0 + self.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.scale)

    def sim(self, real_monotonic: float) -> float:
        return (real_monotonic - self._t0) * self.scale


@dataclass
class Result:
    name: str
    booted: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0
    peak_rate: int = 0
    peak_served: int = 0
    makespan: float = 0.0
    wall: float = 0.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_scenario(name: str, *, nodes: int, rate: float, scale: float, window: float,
                 retry_after: str | None, budget: float, base: Path) -> Result:
    clock = ScaledClock(scale)
    result = Result(name)
    lock = threading.Lock()
    starts = sorted(random.uniform(0, window) for _ in range(nodes))
    with ImdsEmulator() as imds:
        imds.use_clock(clock.monotonic)
        imds.identity("us-west-2")
        imds.set("user-data", USER_DATA)
        imds.throttle(rate, burst=max(rate / 10, 1.0), retry_after=retry_after)

        def node(i: int, start_at: float) -> None:
            root = base / f"{name}-{i}"
            root.mkdir()
            env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "KINDLING_IMDS_BUDGET": str(budget)}
            clock.sleep(start_at - clock.monotonic())
            began = clock.monotonic()
            try:
                run_early_boot(Host(root, clock=clock, env=env), "aws", providers=[IDENTITY_DOCUMENT, IMDS_USER_DATA])
            except Exception as exc:  # a report of every failure kind, not a crash of the bench
                with lock:
                    result.failed[f"{type(exc).__name__}: {str(exc)[:90]}"] += 1
                return
            took = clock.monotonic() - began
            with lock:
                result.booted += 1
                result.times.append(took)

        threading.stack_size(512 * 1024)
        wall0 = time.monotonic()
        threads = [threading.Thread(target=node, args=(i, s), daemon=True) for i, s in enumerate(starts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result.wall = time.monotonic() - wall0
        result.makespan = clock.monotonic()
        log_ = imds.requests
    result.requests = len(log_)
    result.throttled = sum(1 for r in log_ if r.status == 429)
    per_second = Counter(int(clock.sim(r.at)) for r in log_)
    served = Counter(int(clock.sim(r.at)) for r in log_ if r.status != 429)
    result.peak_rate = max(per_second.values(), default=0)
    result.peak_served = max(served.values(), default=0)
    return result


def report(r: Result, *, nodes: int, rate: float, window: float) -> None:
    ideal = max(window, nodes * REQUESTS_PER_BOOT / rate)
    print(f"\n== {r.name}")
    print(f"  booted            {r.booted}/{nodes}" + (f"   failed: {dict(r.failed)}" if r.failed else ""))
    if r.times:
        print(f"  boot time (sim)   p50 {_percentile(r.times, 0.5):6.2f} s   p99 {_percentile(r.times, 0.99):6.2f} s"
              f"   max {max(r.times):6.2f} s   mean {statistics.fmean(r.times):6.2f} s")
    print(f"  requests          {r.requests} ({r.requests / nodes:.1f} per node, {r.throttled} answered 429)")
    print(f"  peak request rate {r.peak_rate}/s offered, {r.peak_served}/s served "
          f"(throttle {rate:g}/s: offered peak = {r.peak_rate / rate:.1f}x)")
    print(f"  makespan (sim)    {r.makespan:6.1f} s  (ideal {ideal:.1f} s = {nodes}x{REQUESTS_PER_BOOT} requests "
          f"at {rate:g}/s; ratio {r.makespan / ideal:.2f})")
    print(f"  wall              {r.wall:6.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="IMDS requests per simulated second")
    parser.add_argument("--scale", type=float, default=1.5, help="simulated seconds per wall second")
    parser.add_argument("--window", type=float, default=5.0, help="nodes start uniformly within this (sim s)")
    parser.add_argument("--budget", type=float, default=300.0, help="IMDS retry budget per node (sim s)")
    parser.add_argument("--scenario", choices=("retry-after", "no-retry-after", "both"), default="both")
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    log.configure(level="error", stream=io.StringIO())
    shm = Path("/dev/shm")
    scratch = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    base = Path(tempfile.mkdtemp(prefix="kindling-fleet-", dir=scratch))
    print(f"fleet: {args.nodes} nodes, one IMDS emulator throttled to {args.rate:g} requests/s (429 beyond), "
          f"starts spread over {args.window:g} s, IMDS budget {args.budget:g} s")
    print(f"clock: SCALED — simulated time runs {args.scale:g}x faster than the wall clock; "
          "every time below is simulated seconds")
    scenarios = {"retry-after": "1", "no-retry-after": None}
    chosen = list(scenarios) if args.scenario == "both" else [args.scenario]
    try:
        for name in chosen:
            result = run_scenario(name, nodes=args.nodes, rate=args.rate, scale=args.scale, window=args.window,
                                  retry_after=scenarios[name], budget=args.budget, base=base)
            report(result, nodes=args.nodes, rate=args.rate, window=args.window)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
