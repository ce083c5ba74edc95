"""The rig's own guarantees: a hung guest is killed at its deadline and reported, and
nothing of it is left running (issue 11, item 5)."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from tests.vm.kernel import fetch_kernel
from tests.vm.qemu import qemu_available, run_guest

pytestmark = [pytest.mark.vm, pytest.mark.timeout(120)]


def test_a_hung_guest_is_killed_at_its_deadline_and_its_console_kept(tmp_path: Path) -> None:
    reason = qemu_available()
    if reason:
        pytest.skip(reason)
    kernel = fetch_kernel()
    disk = tmp_path / "blank.img"
    with disk.open("wb") as f:
        f.truncate(1024 * 1024)
    console = tmp_path / "console.log"
    # No initramfs and no root: the kernel panics, and panic=0 makes it wait forever.
    run = run_guest(kernel=kernel.vmlinuz, initrd=None, append="console=ttyS0 panic=0", disk=disk,
                    cdrom=None, console=console, timeout=15, cpus=1)
    assert run.timed_out
    assert 14 < run.seconds < 30
    assert "Linux version" in run.log, run.log[-2000:]
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"])
                 if str(console) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
