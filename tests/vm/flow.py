"""The VM flow, without pytest: build the guest, boot it once, keep what it left.

The whole flow — first boot, panic, crash kernel, capture, reboot — is one qemu run
(RIGS.md "qemu boot tests"); the tests each assert one outcome by reading the disk
image afterwards, and bench/bench_vm.py times the same run. Steps are chosen from
what this checkout has: a boot stage registered under `kindling.boot_stages` runs
inside `kindling boot`; a command without its stage runs on its own; a component
absent from the checkout is left out and `VmRun.missing` says so (its test skips).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.vm.disk import DiskImage, make_disk, make_ovf_iso
from tests.vm.initramfs import build_initramfs
from tests.vm.kernel import fetch_kernel
from tests.vm.qemu import GuestRun, run_guest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "vm-artifacts"
DISK_MIB = 1024
PART_MIB = 256
CRASHKERNEL_MIB = 256
KEEP = 2  # settings.kdump.keep in the CD-ROM's user data
GUEST_TIMEOUT = 150.0  # seconds for the first qemu run (boot + panic + capture + reboot)
REBOOT_TIMEOUT = 60.0  # seconds for the node's next boot
MOTD = "booted by kindling from the OVF CD-ROM"
USER_DATA = f"""[settings]
motd = "{MOTD}"

[settings.kdump]
keep = {KEEP}
crashkernel = "{CRASHKERNEL_MIB}M"

# qemu boots the kernel directly (-kernel/-append): the disk has no boot loader to carry
# crashkernel=, the command line below does (tests/vm/test_vm_bootline.py boots with the
# command line Kindling's GRUB integration generated).
[settings.boot]
loader = "none"
""".encode()
PACKAGES = ("kindling", "early_boot", "netdog", "growpart", "gpu", "kdump", "platforms")
# Dumps a previous life of this node left behind; retention must prune the oldest.
OLD_DUMPS = ("20200101T000000Z", "20210101T000000Z", "20220101T000000Z")


@dataclass
class VmRun:
    """What one guest session produced."""

    workdir: Path
    disk: DiskImage
    guest: GuestRun
    boot_steps: list[str]
    crash_steps: list[str]
    build_seconds: float
    missing: dict[str, str] = field(default_factory=dict)  # outcome → why it was not exercised
    reboot: GuestRun | None = None  # the boot after the crash kernel's reboot
    kept: Path | None = None

    @property
    def seconds(self) -> float:
        """Build plus every qemu run: what the budget of issue 11 covers."""
        return self.build_seconds + self.guest.seconds + (self.reboot.seconds if self.reboot else 0.0)

    @property
    def hung(self) -> GuestRun | None:
        """The qemu run killed at its deadline, if any."""
        for run in (self.guest, self.reboot):
            if run is not None and run.timed_out:
                return run
        return None

    def output(self, phase: str, name: str) -> str | None:
        raw = self.disk.read(f"/var/lib/vmtest/{phase}/{name}")
        return None if raw is None else raw.decode("utf-8", "replace")

    def rc(self, phase: str, name: str) -> int | None:
        text = self.output(phase, f"{name}.rc")
        return int(text.strip()) if text and text.strip().lstrip("-").isdigit() else None

    def step_log(self, phase: str, name: str) -> str:
        out = self.output(phase, f"{name}.out") or ""
        err = self.output(phase, f"{name}.err") or ""
        return f"rc={self.rc(phase, name)}\nstdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}"

    def keep_artifacts(self) -> Path:
        """Copy the console and the guest's step outputs into vm-artifacts/ (once)."""
        if self.kept is None:
            dest = ARTIFACTS / time.strftime("%Y%m%dT%H%M%S")
            dest.mkdir(parents=True, exist_ok=True)
            for run in (self.guest, self.reboot):
                if run is not None and run.console.exists():
                    shutil.copy2(run.console, dest / run.console.name)
            for phase in ("boot", "crash", "reboot"):
                for name in self.disk.listdir(f"/var/lib/vmtest/{phase}"):
                    data = self.disk.read(f"/var/lib/vmtest/{phase}/{name}")
                    if data is not None:
                        (dest / f"{phase}-{name}").write_bytes(data)
            self.kept = dest
        return self.kept


def _capabilities() -> tuple[set[str], set[str]]:
    """(commands, boot stage names) this checkout registers."""
    from kindling.cli import COMMANDS
    from kindling.registry import entry_points

    return set(COMMANDS), {ep.name for ep in entry_points("kindling.boot_stages")}


def _plan_steps(
    commands: set[str], stages: set[str]
) -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """(first boot, crash kernel, reboot) steps for guest.sh, and what cannot run."""
    boot = ["boot"]
    missing: dict[str, str] = {}
    for stage, command, outcome in (
        ("early-boot-config", "early-boot-config", "cdrom-user-data"),
        ("growpart", "growpart", "growpart"),
    ):
        if stage not in stages and command in commands:
            boot.append(command)
        elif stage not in stages:
            missing[outcome] = f"`kindling {command}` is not in this checkout (branch not merged)"
    crash: list[str] = []
    reboot = ["boot"]
    if "kdump" in commands:
        boot.append("kdump-plan")
        if "kdump-load" not in stages:
            boot.append("kdump-load")
            reboot.append("kdump-load")
        crash = ["kdump-capture", "kdump-status"]
        reboot.append("kdump-status")
    else:
        for outcome in ("kdump-plan", "kdump-load", "kdump-capture"):
            missing[outcome] = "`kindling kdump` is not in this checkout (branch not merged)"
    return boot, crash, reboot, missing


def _skeleton(root: Path, kernel_path: Path, release: str, initrd: Path) -> Path:
    """The guest disk's first contents: a root with /boot, mount points, old dumps."""
    for d in ("proc", "sys", "dev", "run", "etc", "boot", "var/lib/kindling", "var/log/kdump"):
        (root / d).mkdir(parents=True, exist_ok=True)
    # `kdump load` arms "the current kernel and initrd", found where distributions keep them.
    shutil.copy2(kernel_path, root / "boot" / f"vmlinuz-{release}")
    shutil.copy2(initrd, root / "boot" / f"initrd.img-{release}")
    for name in OLD_DUMPS:
        old = root / "var" / "log" / "kdump" / name
        old.mkdir()
        (old / "dmesg.log").write_text(f"old dump {name}\n")
        (old / "vmcore.dump").write_bytes(b"\0" * 4096)
        (old / "status").write_text("complete\n")
    return root


def timeline(log: str) -> list[tuple[str, float, str]]:
    """(phase, guest uptime, event) from the console's `vmtest: t=…` lines."""
    out: list[tuple[str, float, str]] = []
    phase = "boot"
    for line in log.splitlines():
        found = re.match(r"vmtest: t=([0-9.]+) (.*)", line)
        if found:
            switch = re.match(r"init phase=(\w+)", found.group(2))
            if switch:
                phase = switch.group(1)
            out.append((phase, float(found.group(1)), found.group(2)[:90]))
    return out


def _precompile() -> None:
    """Byte-compile the checkout on the host: the guest sees it read-only and would
    otherwise compile every module it imports, on every run, under emulation."""
    import compileall

    for package in PACKAGES:
        if (REPO / package).is_dir():
            compileall.compile_dir(REPO / package, quiet=1, workers=1)


def boot_flow(workdir: Path) -> VmRun:
    """Build everything under `workdir`, run the guest through boot, panic, capture and
    reboot, then boot it once more (see module docstring)."""
    started = time.monotonic()
    _precompile()
    kernel = fetch_kernel()
    commands, stages = _capabilities()
    boot_steps, crash_steps, reboot_steps, missing = _plan_steps(commands, stages)
    initrd = build_initramfs(kernel, workdir, {
        "VMTEST_GUEST": str(Path(__file__).with_name("guest.sh")),
        "PY": sys.executable,
        "VENV": sys.prefix,
        "REPO": str(REPO),
        "BOOT_STEPS": " ".join(boot_steps),
        "CRASH_STEPS": " ".join(crash_steps),
        "REBOOT_STEPS": " ".join(reboot_steps),
        "PANIC": "1" if crash_steps else "0",
        # The guest disk mounted at --root IS this (guest) node's root: let kexec act on
        # the running kernel (kindling/live_kernel.py refuses under a prefix otherwise).
        "KINDLING_ACT_ON_KERNEL": "1",
        # guestinfo absent: the backdoor answers "No value found" for every key.
        "KINDLING_VMWARE_RPCTOOL": str(Path(__file__).with_name("vmware-rpctool-absent")),
    })
    skeleton = _skeleton(workdir / "skel", kernel.vmlinuz, kernel.release, initrd)
    disk = make_disk(workdir / "disk.img", skeleton, disk_mib=DISK_MIB, part_mib=PART_MIB)
    shutil.rmtree(skeleton)
    iso = make_ovf_iso(workdir / "ovf.iso", USER_DATA)
    build_seconds = time.monotonic() - started
    append = f"console=ttyS0 panic=-1 crashkernel={CRASHKERNEL_MIB}M"
    guest = run_guest(kernel=kernel.vmlinuz, initrd=initrd, disk=disk.path, cdrom=iso,
                      console=workdir / "console.log", append=append, timeout=GUEST_TIMEOUT)
    run = VmRun(workdir, disk, guest, boot_steps, crash_steps, build_seconds, missing)
    if guest.returncode == 0:
        # The crash kernel's reboot ended qemu (-no-reboot); power the node on again.
        run.reboot = run_guest(kernel=kernel.vmlinuz, initrd=initrd, disk=disk.path, cdrom=iso,
                               console=workdir / "console-reboot.log", append=append + " vmtest.phase=reboot",
                               timeout=REBOOT_TIMEOUT)
    return run
