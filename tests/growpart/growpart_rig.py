"""Rig helpers for growpart tests (RIGS.md "Partition growth on loop devices").

Images are sparse files under the test's temp dir, partitioned once per session by
sgdisk (which sleeps about a second per write on files) and copied per test.
Loop devices are attached with `losetup -f --show`, partitions added with `partx -a`
(this kernel does not scan partitions), and every loop device, partition and mount
is released by its own name in the fixture's finalizer, also when a test fails.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024
KINDLING = str(Path(sys.executable).with_name("kindling"))


# bytecode caching on: without it every CLI run recompiles Kindling (~0.3 s here)
CLI_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def digest(path: str | Path) -> str:
    """SHA-256 of the file's size and of every non-zero 4 KiB block with its offset.

    Equal to comparing whole contents (a hole reads as zeros), but only the data
    extents are read (SEEK_DATA/SEEK_HOLE), so sparse 800 MiB images hash in
    milliseconds — and the host filesystem re-allocating zeros does not count.
    """
    h = hashlib.sha256()
    size = os.path.getsize(path)
    h.update(f"{size}\n".encode())
    zero = bytes(4096)
    with open(path, "rb") as fh:
        fd, offset = fh.fileno(), 0
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after offset
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            start -= start % 4096
            fh.seek(start)
            pos = start
            while pos < end:
                chunk = fh.read(min(4 * MiB, end - pos + 4096))
                if not chunk:
                    break
                for i in range(0, len(chunk), 4096):
                    block = chunk[i:i + 4096]
                    if block != zero[:len(block)]:
                        h.update(f"{pos + i}:".encode())
                        h.update(block)
                pos += len(chunk)
            offset = max(end, pos)
    return h.hexdigest()


def sgdisk_problems(path: str | Path) -> list[str]:
    """The 'Problem:' paragraphs of `sgdisk -v` (cautions about alignment are not problems)."""
    out = sh("sgdisk", "-v", str(path), check=False).stdout
    found = [line.strip() for line in out.splitlines() if line.startswith("Problem:")]
    if "No problems found" not in out and "problems!" in out and not found:
        found.append(out.strip())
    return found


NOT_AT_END = "Problem: The secondary header's self-pointer indicates that it doesn't reside"


def partition_span(path: str | Path, number: int) -> tuple[int, int]:
    """(first, last) sector of partition `number` as sgdisk reads it."""
    out = sh("sgdisk", "-i", str(number), str(path)).stdout
    first = last = -1
    for line in out.splitlines():
        if line.startswith("First sector:"):
            first = int(line.split()[2])
        if line.startswith("Last sector:"):
            last = int(line.split()[2])
    return first, last


def grow_file(path: str | Path, size: int) -> None:
    os.truncate(path, size)


@dataclass
class Images:
    """Session templates: name -> path of a partitioned sparse image."""

    base: Path
    made: dict[str, Path] = field(default_factory=dict)

    def template(self, name: str, size: int, *sgdisk_args: str) -> Path:
        if name not in self.made:
            path = self.base / f"{name}.img"
            path.touch()
            os.truncate(path, size)
            sh("sgdisk", *sgdisk_args, str(path))
            self.made[name] = path
        return self.made[name]

    def one(self) -> Path:
        """8 MiB disk, partition 1 KINDLING-DATA from sector 2048 to the end."""
        return self.template("one", 8 * MiB, "-n", "1:2048:0", "-t", "1:8300",
                             "-c", "1:KINDLING-DATA")

    def two(self) -> Path:
        """8 MiB disk: KINDLING-DATA (1), then OTHER (2) after it — data not last."""
        return self.template("two", 8 * MiB, "-n", "1:2048:+2M", "-c", "1:KINDLING-DATA",
                             "-n", "2:0:0", "-c", "2:OTHER")

    def last(self) -> Path:
        """8 MiB disk: EFI-ish (1) first, BOTTLEROCKET-DATA (2) last."""
        return self.template("last", 8 * MiB, "-n", "1:2048:+1M", "-t", "1:ef00",
                             "-c", "1:EFI", "-n", "2:0:0", "-c", "2:BOTTLEROCKET-DATA")

    def odd(self) -> Path:
        """8 MiB disk: partition 2 first (start 2048 = size 2048, cloud-utils'
        start-matches-size case), KINDLING-DATA numbered 1 but physically last."""
        return self.template("odd", 8 * MiB, "-n", "2:2048:4095", "-c", "2:SMALL",
                             "-n", "1:4096:0", "-c", "1:KINDLING-DATA")

    def big(self) -> Path:
        """400 MiB disk for filesystems (mkfs.xfs wants 300 MiB)."""
        return self.template("big", 400 * MiB, "-n", "1:2048:0", "-t", "1:8300",
                             "-c", "1:KINDLING-DATA")




def run_cli(*argv: str) -> tuple[int, str, str]:
    """`kindling growpart ARGV` as a subprocess: (exit status, stdout, stderr)."""
    proc = subprocess.run([KINDLING, "growpart", *argv], capture_output=True, text=True,
                          check=False, timeout=120, env=CLI_ENV)
    return proc.returncode, proc.stdout, proc.stderr


@dataclass
class Loops:
    """Loop devices, their partitions and mounts made by one test, released by name."""

    tmp: Path
    loops: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)

    def attach(self, img: Path, *options: str) -> str:
        dev = sh("losetup", "-f", "--show", *options, str(img)).stdout.strip()
        self.loops.append(dev)
        if not Path(f"{dev}p1").exists():
            sh("partx", "-a", dev, check=False)  # no table yet: nothing to add
        return dev

    def refresh(self, dev: str) -> None:
        sh("losetup", "-c", dev)

    def mount(self, device: str, name: str) -> str:
        where = self.tmp / "mnt" / name
        where.mkdir(parents=True)
        sh("mount", device, str(where))
        self.mounts.append(str(where))
        return str(where)

    def detach(self, dev: str) -> None:
        sh("partx", "-d", dev, check=False)
        sh("losetup", "-d", dev, check=False)
        self.loops.remove(dev)

    def release(self) -> None:
        for where in reversed(self.mounts):
            sh("umount", where, check=False)
        for dev in reversed(list(self.loops)):
            self.detach(dev)
