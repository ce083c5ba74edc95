"""Benchmark: the VM flow of issue 11 (first boot, panic, capture, reboot), timed.

Runs the same guest as `tests/vm` (tests/vm/flow.py) once and prints:
1. build: kernel fetch/unpack (cached after the first run), initramfs, disk, ISO;
2. the qemu run, wall time, against the issue's budget of 3 minutes for the whole
   VM test on 2 cores (ratio printed);
3. the guest's own timeline (uptime at each step, per kernel), so a slow step shows:
   `kindling boot`, `kdump plan`, the panic, the crash kernel's capture.

    python bench/bench_vm.py          # as root, with qemu-system-x86 installed
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.vm.flow import boot_flow, timeline  # noqa: E402
from tests.vm.qemu import qemu_available  # noqa: E402

BUDGET = 180.0


def main() -> int:
    reason = qemu_available()
    if reason:
        print(f"skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory(prefix="kindling-bench-vm-") as tmp:
        run = boot_flow(Path(tmp))
        total = run.seconds
        print(f"build (kernel cached, initramfs, disk, ISO): {run.build_seconds:6.1f} s")
        for label, guest in (("boot, panic, capture, reboot", run.guest), ("next boot", run.reboot)):
            if guest is not None:
                state = "killed at deadline" if guest.timed_out else f"exit {guest.returncode}"
                print(f"qemu: {label} ({state}): {guest.seconds:6.1f} s")
        print(f"total: {total:.1f} s  budget {BUDGET:.0f} s  ratio {total / BUDGET:.2f}")
        if run.missing:
            print("not exercised: " + "; ".join(f"{k}: {v}" for k, v in run.missing.items()))
        print("guest timeline (uptime per kernel):")
        for guest in (run.guest, run.reboot):
            previous: dict[str, float] = {}
            for phase, t, event in timeline(guest.log if guest else ""):
                delta = t - previous.get(phase, 0.0)
                previous[phase] = t
                print(f"  {phase:6} t={t:6.2f} s (+{delta:5.2f})  {event}")
        return 0 if run.hung is None and total < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
