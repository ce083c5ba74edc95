"""Benchmark: grow a partition on a loop device — kindling growpart vs cloud-utils growpart.

Issue 5 budget: ≤ 0.1 s per grow (anchor: cloud-utils growpart took 0.32 s here).
Both tools get the same freshly enlarged loop image each round (400 MiB disk with
partition 1 to its end, file grown to 800 MiB, `losetup -c`), and both are timed as
the command an operator or unit runs (wall clock of the process, partition table +
kernel update; no filesystem: cloud-utils does not grow one). Kindling is also timed
in-process (`growpart.grow.grow`), which is what `kindling boot` pays.

    python bench/bench_growpart.py [--rounds N] [--rt]

`--rt` runs the bench (and so every command it times, which inherit it) under
SCHED_FIFO: on a machine shared with other work the figures then show the cost of
the tools rather than the queue for the CPU. All three (floor, ours, cloud-utils)
are timed the same way.

Needs root, losetup, partx, sgdisk and cloud-utils growpart. Every loop device it
attaches is detached by name in a finally block.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 1024 * 1024
BUDGET_S = 0.100
ANCHOR_S = 0.32
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
KINDLING = str(Path(sys.executable).with_name("kindling"))


def sh(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.template = tmp / "template.img"
        self.template.touch()
        os.truncate(self.template, 400 * MiB)
        sh("sgdisk", "-n", "1:2048:0", "-t", "1:8300", "-c", "1:KINDLING-DATA",
           str(self.template))
        self.loops: list[str] = []

    def fresh(self, name: str) -> str:
        img = self.tmp / f"{name}.img"
        sh("cp", "--sparse=always", str(self.template), str(img))
        dev = sh("losetup", "-f", "--show", str(img)).strip()
        self.loops.append(dev)
        if not Path(f"{dev}p1").exists():
            sh("partx", "-a", dev)
        os.truncate(img, 800 * MiB)
        sh("losetup", "-c", dev)
        return dev

    def release(self, dev: str) -> None:
        subprocess.run(["partx", "-d", dev], capture_output=True, check=False)
        subprocess.run(["losetup", "-d", dev], capture_output=True, check=False)
        self.loops.remove(dev)

    def release_all(self) -> None:
        for dev in list(self.loops):
            self.release(dev)


CPU: dict[str, list[float]] = {}


def timed(argv: list[str], key: str = "") -> float:
    """Wall time of one run; its CPU time (user + sys, from wait4) goes to CPU[key]:
    on a loaded machine CPU time shows the cost the budget means better than wall."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv)
    if key:
        CPU.setdefault(key, []).append(usage.ru_utime + usage.ru_stime)
    return wall


def in_process(dev: str) -> float:
    from growpart.find import Target
    from growpart.grow import grow
    from kindling.host import Host

    t0 = time.perf_counter()
    grow(Host("/"), Target(dev, 1, None, "device"), resize_fs=False)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rt", action="store_true", help="time under SCHED_FIFO priority 10")
    args = parser.parse_args()
    if args.rt:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    missing = [t for t in ("losetup", "partx", "sgdisk", "growpart") if not shutil.which(t)]
    if os.geteuid() != 0 or missing:
        print(f"bench_growpart: needs root and {', '.join(missing) or 'loop devices'}: skipped")
        return 0
    ours, theirs, inproc, floor = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-growpart-") as tmp:
        rig = Rig(Path(tmp))
        try:
            subprocess.run([KINDLING, "growpart", "--help"], capture_output=True, env=ENV,
                           check=True)  # warm the bytecode cache
            for i in range(args.rounds):
                dev = rig.fresh(f"ours{i}")
                ours.append(timed([KINDLING, "growpart", "--device", dev, "--partition", "1",
                                   "--no-fs"], "ours"))
                rig.release(dev)
                dev = rig.fresh(f"theirs{i}")
                theirs.append(timed(["growpart", dev, "1"], "theirs"))
                rig.release(dev)
                floor.append(timed([sys.executable, "-c", "pass"], "floor"))
                dev = rig.fresh(f"inproc{i}")
                inproc.append(in_process(dev))
                rig.release(dev)
        finally:
            rig.release_all()
    m_ours, m_theirs, m_in, m_floor = (statistics.median(x)
                                       for x in (ours, theirs, inproc, floor))
    print(f"rounds: {args.rounds} (median; 400 -> 800 MiB loop image, partition 1); "
          f"load average {os.getloadavg()[0]:.1f}; scheduling "
          f"{'SCHED_FIFO 10' if args.rt else 'normal'}")
    print(f"interpreter floor ({sys.executable} -c pass): {m_floor * 1000:.1f} ms")
    print(f"kindling growpart (process):   {m_ours * 1000:7.1f} ms   "
          f"budget {BUDGET_S * 1000:.0f} ms -> ratio {m_ours / BUDGET_S:.2f} "
          f"({'within' if m_ours <= BUDGET_S else 'OVER'} budget); "
          f"{(m_ours - m_floor) * 1000:.1f} ms above the floor")
    print(f"kindling grow() (in-process):  {m_in * 1000:7.1f} ms   "
          f"ratio to budget {m_in / BUDGET_S:.2f}")
    print(f"cloud-utils growpart:          {m_theirs * 1000:7.1f} ms   "
          f"(anchor {ANCHOR_S * 1000:.0f} ms)")
    c_ours, c_floor = statistics.median(CPU["ours"]), statistics.median(CPU["floor"])
    print(f"CPU time (user+sys): kindling growpart {c_ours * 1000:.1f} ms, floor "
          f"{c_floor * 1000:.1f} ms, cloud-utils growpart (with the children it waited "
          f"for) {statistics.median(CPU['theirs']) * 1000:.1f} ms; kindling CPU vs "
          f"budget {c_ours / BUDGET_S:.2f}")
    print(f"speed-up vs cloud-utils: {m_theirs / m_ours:.1f}x (process), "
          f"{m_theirs / m_in:.1f}x (in-process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
