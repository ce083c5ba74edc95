"""cloud-utils `growpart` vs `kindling growpart` on identical loop images (issue 9 §3).

One GPT template (1 GiB sparse file, partition 1 = 512 MiB named KINDLING-DATA holding
an ext4) is made once; each run copies it (sparse), grows the file to 2 GiB, attaches
it to a fresh loop device and registers its partitions (`partx -a`: this kernel does
not scan them, RIGS.md), then times only the grow itself. Two pairs: the partition alone
(`kindling growpart --no-fs` vs `growpart`), and partition plus its unmounted ext4
(`kindling growpart` vs `growpart && e2fsck -f -p && resize2fs`, the offline path of
the boot). Each result is checked (same partition size, same ext4 block count for
both) and every loop device is detached by its own name.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from bench.janitor import Janitor
from bench.measure import Sample, run_once
from bench.report import PairRow, Row
from bench.stats import Summary, pair_ratios, paired
from bench.target import Kindling

__all__ = ["growpart_rows"]

SECTION = "cloud-utils growpart side by side (loop images)"
TOOLS = ("sgdisk", "losetup", "partx", "growpart", "truncate", "mkfs.ext4", "e2fsck", "resize2fs", "dumpe2fs")


def _sh(argv: list[str]) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def _template(janitor: Janitor) -> Path:
    """1 GiB sparse, GPT, partition 1 = 512 MiB KINDLING-DATA holding an ext4 (made once:
    sgdisk alone takes ~1 s here)."""
    img = janitor.tempdir("gp-template") / "template.img"
    _sh(["truncate", "-s", "1G", str(img)])
    _sh(["sgdisk", "-n", "1:2048:+512M", "-t", "1:8300", "-c", "1:KINDLING-DATA", str(img)])
    loop = _sh(["losetup", "-f", "--show", str(img)])
    try:
        _sh(["partx", "-a", loop])
        _sh(["mkfs.ext4", "-q", "-L", "KINDLING-DATA", f"{loop}p1"])
    finally:
        subprocess.run(["partx", "-d", loop], capture_output=True)
        subprocess.run(["losetup", "-d", loop], capture_output=True)
    return img


def _attach(janitor: Janitor, template: Path) -> tuple[str, Path]:
    img = janitor.tempdir("gp") / "disk.img"
    _sh(["cp", "--sparse=always", str(template), str(img)])  # shutil would write 1 GiB of zeros
    _sh(["truncate", "-s", "2G", str(img)])
    loop = _sh(["losetup", "-f", "--show", str(img)])
    janitor.push(f"detach {loop}", lambda: janitor.run(["losetup", "-d", loop]))
    janitor.push(f"partx -d {loop}", lambda: janitor.run(["partx", "-d", loop]))
    _sh(["partx", "-a", loop])
    return loop, img


def _p1_sectors(loop: str) -> int:
    name = Path(loop).name
    return int(Path(f"/sys/block/{name}/{name}p1/size").read_text())


def _detach(janitor: Janitor) -> None:
    """Undo this run's partx -a, losetup and temp dir (the last three pushes) right away."""
    janitor.cleanup_last(3)


def _fs_blocks(loop: str) -> int:
    out = _sh(["dumpe2fs", "-h", f"{loop}p1"])
    return int(next(ln.split(":")[1] for ln in out.splitlines() if ln.startswith("Block count:")))


def _measure(
    k: Kindling, janitor: Janitor, template: Path, runs: int, warmup: int, *, with_fs: bool, name: str,
    kindling_argv: Callable[[str], list[str]], peer_argv: Callable[[str], list[str]], labels: tuple[str, str],
) -> tuple[PairRow, list[Sample], list[Sample]]:
    """One pair on fresh copies of the template; the result of each side is checked."""
    result: dict[str, set[int]] = {"kindling": set(), "cloud-utils": set()}

    def one(who: str, argv_for: Callable[[str], list[str]]) -> Callable[[], Sample]:
        def run() -> Sample:
            loop, _ = _attach(janitor, template)
            try:
                sample = run_once(argv_for(loop), env=k.env(), check=True)
                result[who].add(_fs_blocks(loop) if with_fs else _p1_sectors(loop))
            finally:
                _detach(janitor)
            return sample

        return run

    a, b = paired(one("kindling", kindling_argv), one("cloud-utils", peer_argv), runs, warmup)
    what = "ext4 to" if with_fs else "p1 to"
    unit = "4k blocks" if with_fs else "sectors"
    same = result["kindling"] == result["cloud-utils"] and len(result["kindling"]) == 1
    note = (
        f"both grew {what} {next(iter(result['kindling']))} {unit}"
        if same
        else f"RESULTS DIFFER: kindling {sorted(result['kindling'])}, cloud-utils {sorted(result['cloud-utils'])}"
    )
    av, bv = [s.wall_ms for s in a], [s.wall_ms for s in b]
    pair = PairRow(SECTION, name, *labels, "ms", Summary.of(av), Summary.of(bv), Summary.of(pair_ratios(av, bv)),
                   None, note=note)  # fmt: skip
    return pair, a, b


def growpart_rows(k: Kindling, janitor: Janitor, runs: int, warmup: int) -> tuple[list[Row], list[PairRow]]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    parts = ("`kindling growpart --no-fs`", "cloud-utils `growpart`")
    fs = ("`kindling growpart` (ext4 offline)", "`growpart && e2fsck -f -p && resize2fs`")
    if missing:
        return [Row(SECTION, "growpart rig", "ms", None, status=f"not present: {', '.join(missing)} missing")], []
    if not k.has("growpart"):
        return [], [PairRow(SECTION, "grow partition 1 to the disk end", *parts, "ms"),
                    PairRow(SECTION, "grow partition 1 and its ext4", *fs, "ms")]  # fmt: skip
    template = _template(janitor)
    pair, a, b = _measure(
        k, janitor, template, runs, warmup, with_fs=False, name="grow partition 1 to the disk end", labels=parts,
        kindling_argv=lambda loop: k.argv("growpart", "--device", loop, "--partition", "1", "--no-fs"),
        peer_argv=lambda loop: ["growpart", loop, "1"],
    )  # fmt: skip
    k.record_rss("kindling growpart --no-fs (loop image)", a)
    k.record_peer_rss("cloud-utils growpart", [s.maxrss_mb for s in b])
    pair_fs, a, b = _measure(
        k, janitor, template, runs, warmup, with_fs=True, name="grow partition 1 and its ext4", labels=fs,
        kindling_argv=lambda loop: k.argv("growpart", "--device", loop, "--partition", "1"),
        peer_argv=lambda loop: ["sh", "-c", f"growpart {loop} 1 && e2fsck -f -p {loop}p1 && resize2fs {loop}p1"],
    )  # fmt: skip
    k.record_rss("kindling growpart (loop image, ext4)", a)
    k.record_peer_rss("growpart + e2fsck + resize2fs (largest)", [s.maxrss_mb for s in b])
    return [], [pair, pair_fs]
