"""A planted kernel under a temp root, and recording stand-ins for kexec/makedumpfile.

This machine's kernel has no kexec and no /proc/vmcore, so `kexec` and
`makedumpfile` are small scripts first on the Host's PATH (behind the Host runner,
the documented seam): each appends its argv, one line, to `calls.log`, and fails when
a `<name>.fail` file holds a pattern found in its arguments. `rm` and `tee` are real.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from kindling.host import FakeClock, Host, RecordingHost

GiB = 1 << 30
MiB = 1 << 20

_SCRIPT = """#!/bin/sh
echo "{name} $*" >> "{bin}/calls.log"
if [ -f "{bin}/{name}.fail" ]; then
  pat=$(cat "{bin}/{name}.fail")
  case " $* " in *"$pat"*) echo "{name}: simulated failure" >&2; exit 3;; esac
fi
{extra}
exit 0
"""
# makedumpfile writes its output file (the last argument), as the real one does
_MAKEDUMPFILE = 'for last; do :; done\nprintf "dump-data" > "$last"'


@dataclass
class Rig:
    root: Path
    bin: Path
    host: Host
    plan_host: RecordingHost

    def plant(self, rel: str, data: str | bytes = "") -> Path:
        p = self.root / rel.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)
        return p

    def kernel(self, *, mem_total: int = 8 * GiB, crash_size: int = 0, loaded: int = 0,
               load_disabled: int = 0, cmdline: str = "BOOT_IMAGE=/vmlinuz-6.1.0-test root=/dev/vda1 ro quiet",
               release: str = "6.1.0-test", arch: str = "x86_64") -> None:
        self.plant("proc/meminfo", f"MemTotal:       {mem_total // 1024} kB\nMemFree: 1 kB\n")
        self.plant("sys/kernel/kexec_crash_size", f"{crash_size}\n")
        self.plant("sys/kernel/kexec_crash_loaded", f"{loaded}\n")
        self.plant("proc/sys/kernel/kexec_load_disabled", f"{load_disabled}\n")
        self.plant("proc/cmdline", cmdline + "\n")
        self.plant("proc/sys/kernel/osrelease", release + "\n")
        self.plant("proc/sys/kernel/arch", arch + "\n")
        self.plant(f"boot/vmlinuz-{release}", b"kernel")
        self.plant(f"boot/initrd.img-{release}", b"initrd")

    def fail(self, name: str, pattern: str) -> None:
        (self.bin / f"{name}.fail").write_text(pattern)

    def calls(self) -> list[str]:
        log = self.bin / "calls.log"
        return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> Rig:
    root = tmp_path / "root"
    root.mkdir()
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    for name in ("kexec", "makedumpfile"):
        extra = _MAKEDUMPFILE if name == "makedumpfile" else ""
        script = bin_dir / name
        script.write_text(_SCRIPT.format(name=name, bin=bin_dir, extra=extra))
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
           "KINDLING_ACT_ON_KERNEL": "1"}
    return Rig(root, bin_dir, Host(root, clock=clock, env=env),
               RecordingHost(root, clock=clock, env=env))
