"""cloud-utils `growpart` vs `kindling growpart` on identical loop images (issue 9 §3).

One GPT template (1 GiB sparse file, partition 1 = 512 MiB named KINDLING-DATA) is
made once; each run copies it, grows the file to 2 GiB, attaches it to a fresh loop
device and registers its partitions (`partx -a`: this kernel does not scan them,
RIGS.md), then times only the grow itself. Both tools grow the partition alone
(`kindling growpart --no-fs`), so they do the same job; the result is checked (p1 ends
at the same sector for both) and every loop device is detached by its own name.
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
TOOLS = ("sgdisk", "losetup", "partx", "growpart", "truncate")


def _sh(argv: list[str]) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def _template(janitor: Janitor) -> Path:
    img = janitor.tempdir("gp-template") / "template.img"
    _sh(["truncate", "-s", "1G", str(img)])
    _sh(["sgdisk", "-n", "1:2048:+512M", "-t", "1:8300", "-c", "1:KINDLING-DATA", str(img)])
    return img


def _attach(janitor: Janitor, template: Path) -> tuple[str, Path]:
    img = janitor.tempdir("gp") / "disk.img"
    shutil.copyfile(template, img)
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


def growpart_rows(k: Kindling, janitor: Janitor, runs: int, warmup: int) -> tuple[list[Row], list[PairRow]]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    label_a, label_b = "`kindling growpart --no-fs`", "cloud-utils `growpart`"
    if missing:
        return [Row(SECTION, "growpart rig", "ms", None, status=f"not present: {', '.join(missing)} missing")], []
    if not k.has("growpart"):
        return [], [PairRow(SECTION, "grow partition 1 to the disk end", label_a, label_b, "ms")]
    template = _template(janitor)
    grown: dict[str, set[int]] = {"kindling": set(), "cloud-utils": set()}

    def one(who: str, argv_for: Callable[[str], list[str]]) -> Callable[[], Sample]:
        def run() -> Sample:
            loop, _ = _attach(janitor, template)
            try:
                sample = run_once(argv_for(loop), env=k.env(), check=True)
                grown[who].add(_p1_sectors(loop))
            finally:
                _detach(janitor)
            return sample

        return run

    a, b = paired(
        one("kindling", lambda loop: k.argv("growpart", "--device", loop, "--partition", "1", "--no-fs")),
        one("cloud-utils", lambda loop: ["growpart", loop, "1"]),
        runs,
        warmup,
    )
    k.record_rss("kindling growpart --no-fs (loop image)", a)
    av, bv = [s.wall_ms for s in a], [s.wall_ms for s in b]
    same = grown["kindling"] == grown["cloud-utils"] and len(grown["kindling"]) == 1
    note = (
        f"both grew p1 to {next(iter(grown['kindling']))} sectors"
        if same
        else f"RESULTS DIFFER: kindling {sorted(grown['kindling'])}, cloud-utils {sorted(grown['cloud-utils'])}"
    )
    pair = PairRow(SECTION, "grow partition 1 to the disk end", label_a, label_b, "ms", Summary.of(av),
                   Summary.of(bv), Summary.of(pair_ratios(av, bv)), None, note=note)  # fmt: skip
    k.record_peer_rss("cloud-utils growpart", [s.maxrss_mb for s in b])
    return [], [pair]
