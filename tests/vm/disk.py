"""The guest's disk and CD-ROM as files, and reading them back without the guest.

Built without loop devices or mounts (nothing of the host's kernel is touched, so
nothing can be left behind): sgdisk writes the GPT into a sparse file, `mkfs.ext4 -E
offset= -d SKEL` writes a populated filesystem into the partition, xorriso writes the
OVF ISO. Afterwards the host reads the image the same way: `sgdisk -p`, `dumpe2fs`,
`debugfs -R` and `e2fsck -fn` all accept `IMAGE?offset=BYTES` (e2fsprogs' unix_io
option), so assertions need no cooperation from the guest.
"""

from __future__ import annotations

import base64
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DiskImage", "Partition", "make_disk", "make_ovf_iso", "make_root_disk", "ovf_environment"]

SECTOR = 512
DATA_LABEL = "KINDLING-DATA"


def _run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # sectors
    end: int  # sectors, inclusive
    name: str

    @property
    def size_bytes(self) -> int:
        return (self.end - self.start + 1) * SECTOR


@dataclass(frozen=True)
class DiskImage:
    """A raw GPT disk image with one ext4 partition (the data partition)."""

    path: Path
    partition_start: int  # bytes

    @property
    def fs(self) -> str:
        """The partition's filesystem as e2fsprogs opens it: `IMAGE?offset=BYTES`."""
        return f"{self.path}?offset={self.partition_start}"

    def partitions(self) -> list[Partition]:
        out = _run(["sgdisk", "-p", str(self.path)]).stdout
        rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(.*)$", out, re.M)
        return [Partition(int(n), int(s), int(e), name.strip()) for n, s, e, name in rows]

    def verify_gpt(self) -> str:
        """`sgdisk -v` output; raises if it finds problems."""
        out = _run(["sgdisk", "-v", str(self.path)]).stdout
        if "No problems found" not in out:
            raise AssertionError(f"sgdisk -v {self.path}: {out.strip()}")
        return out

    def fs_size_bytes(self) -> int:
        out = _run(["dumpe2fs", "-h", self.fs]).stdout
        count = re.search(r"^Block count:\s+(\d+)", out, re.M)
        size = re.search(r"^Block size:\s+(\d+)", out, re.M)
        if count is None or size is None:
            raise AssertionError(f"dumpe2fs -h {self.fs}: no block count/size in:\n{out}")
        return int(count.group(1)) * int(size.group(1))

    def fsck(self) -> str:
        """`e2fsck -fn`: read-only full check; raises on any finding."""
        proc = _run(["e2fsck", "-fn", self.fs], check=False)
        if proc.returncode != 0:
            raise AssertionError(f"e2fsck -fn {self.fs} exit {proc.returncode}: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def listdir(self, path: str) -> list[str]:
        """Entry names of a directory in the image ([] when it does not exist)."""
        proc = _run(["debugfs", "-R", f"ls -p {path}", self.fs], check=False)
        names = [line.split("/")[5] for line in proc.stdout.splitlines() if line.count("/") >= 6]
        return sorted(n for n in names if n not in (".", ".."))

    def stat_size(self, path: str) -> int | None:
        proc = _run(["debugfs", "-R", f"stat {path}", self.fs], check=False)
        found = re.search(r"Size:\s+(\d+)", proc.stdout)
        return int(found.group(1)) if found else None

    def read(self, path: str) -> bytes | None:
        """A file's contents from the image, or None when it does not exist."""
        if self.stat_size(path) is None:
            return None
        proc = subprocess.run(["debugfs", "-R", f"cat {path}", self.fs], capture_output=True, timeout=120,
                              check=False)
        return proc.stdout

    def dump(self, path: str, dest: Path) -> bool:
        """Copy a (large) file out of the image with debugfs `dump`."""
        _run(["debugfs", "-R", f"dump {path} {dest}", self.fs], check=False)
        return dest.exists()


def make_disk(path: Path, skeleton: Path, *, disk_mib: int, part_mib: int) -> DiskImage:
    """A sparse GPT disk whose KINDLING-DATA ext4 partition does not fill it."""
    path.unlink(missing_ok=True)
    with path.open("wb") as f:
        f.truncate(disk_mib * 1024 * 1024)
    _run(["sgdisk", "-o", "-n", f"1:2048:+{part_mib}M", "-t", "1:8300", "-c", f"1:{DATA_LABEL}", str(path)])
    start = 2048 * SECTOR
    _run(["mkfs.ext4", "-q", "-F", "-L", DATA_LABEL, "-b", "4096", "-E", f"offset={start}",
          "-d", str(skeleton), str(path), f"{part_mib}M"])
    image = DiskImage(path, start)
    image.verify_gpt()
    return image


def make_root_disk(path: Path, skeleton: Path, *, disk_mib: int, uuid: str | None = None,
                   label: str | None = None) -> DiskImage:
    """A sparse disk that is one ext4 filesystem, no partition table: what a kernel
    command line's `root=/dev/vda` (or `root=UUID=…`, `root=LABEL=…`) names."""
    path.unlink(missing_ok=True)
    with path.open("wb") as f:
        f.truncate(disk_mib * 1024 * 1024)
    extra = [*(["-U", uuid] if uuid else []), *(["-L", label] if label else [])]
    _run(["mkfs.ext4", "-q", "-F", "-b", "4096", *extra, "-d", str(skeleton), str(path)])
    return DiskImage(path, 0)


def ovf_environment(user_data: bytes) -> bytes:
    """An OVF environment document as VMware writes it, user data in `user-data`."""
    value = base64.b64encode(user_data).decode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"\n'
        '     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1">\n'
        "  <PropertySection>\n"
        '    <Property oe:key="hostname" oe:value="kindling-vm"/>\n'
        f'    <Property oe:key="user-data" oe:value="{value}"/>\n'
        "  </PropertySection>\n"
        "</Environment>\n"
    ).encode()


def make_ovf_iso(path: Path, user_data: bytes) -> Path:
    """An ISO9660 (Rock Ridge) image holding `ovf-env.xml`, as VMware attaches it."""
    staging = path.with_suffix(".d")
    staging.mkdir(exist_ok=True)
    (staging / "ovf-env.xml").write_bytes(ovf_environment(user_data))
    path.unlink(missing_ok=True)
    _run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "OVF ENV", "-o", str(path), str(staging)])
    return path
