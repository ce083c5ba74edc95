"""Crash safety (issue 5, item 2): kill the process after each write step — the disk
always verifies (old or new table, nothing sgdisk objects to beyond what the enlarged
disk already had), and a re-run completes the job. A torn primary write (power loss
mid-write) falls back to the new backup and is repaired by the re-run."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from growpart.disk import open_disk
from growpart.find import Target
from growpart.gpt import grow_table, read_gpt
from growpart.grow import grow
from growpart.write import STEPS
from kindling.errors import HostError
from kindling.host import Host
from tests.growpart.growpart_rig import CLI_ENV, NOT_AT_END, MiB, partition_span, run_cli, sgdisk_problems

OLD_END = 8 * MiB // 512 - 34
NEW_END = 16 * MiB // 512 - 34

KILLER = textwrap.dedent("""
    import os, signal, sys
    from kindling.host import Host
    from growpart.find import Target
    from growpart.grow import grow
    disk, step = sys.argv[1], sys.argv[2]
    def hook(name):
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)
    grow(Host("/"), Target(disk, 1, None, "device"), after_step=hook)
""")


@pytest.mark.parametrize("step", STEPS)
def test_kill_after_each_step_leaves_a_verifying_disk(image, step: str) -> None:
    img = image("one")
    proc = subprocess.run([sys.executable, "-c", KILLER, str(img), step], env=CLI_ENV,
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    problems = sgdisk_problems(img)
    assert set(problems) <= {NOT_AT_END}, problems  # nothing new for sgdisk to object to
    span = partition_span(img, 1)
    assert span in ((2048, OLD_END), (2048, NEW_END))
    assert (span[1] == NEW_END) == (STEPS.index(step) >= STEPS.index("primary"))
    code, _out, err = run_cli("--device", str(img))
    assert code == 0, err
    assert sgdisk_problems(img) == []
    assert partition_span(img, 1) == (2048, NEW_END)


WRITE_KILLER = textwrap.dedent("""
    import os, signal, sys
    from kindling.host import Host
    from growpart.disk import Disk, open_disk
    from growpart.gpt import grow_table, read_gpt
    from growpart.write import write_table
    disk_path, kill_after = sys.argv[1], int(sys.argv[2])

    class KilledDisk(Disk):
        writes = 0
        def write(self, offset, data, what):
            super().write(offset, data, what)
            KilledDisk.writes += 1
            if KilledDisk.writes == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    host = Host("/")
    with open_disk(host, disk_path) as opened:
        disk = KilledDisk(host, disk_path, opened.fd, is_block=False, size=opened.size,
                          sector_size=opened.sector_size)
        gpt = read_gpt(disk.read, disk.size, disk.sector_size, source=disk_path)
        write_table(disk, grow_table(gpt, 1, source=disk_path))
""")


@pytest.mark.parametrize("kill_after", [1, 2, 3, 4])  # backup array, backup header, primary, mbr
def test_kill_between_the_writes_inside_a_step(image, kill_after: int) -> None:
    img = image("one")
    proc = subprocess.run([sys.executable, "-c", WRITE_KILLER, str(img), str(kill_after)],
                          env=CLI_ENV, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert set(sgdisk_problems(img)) <= {NOT_AT_END}
    assert partition_span(img, 1)[1] == (NEW_END if kill_after >= 3 else OLD_END)
    code, _, err = run_cli("--device", str(img))
    assert code == 0, err
    assert sgdisk_problems(img) == []
    assert partition_span(img, 1) == (2048, NEW_END)


class Injected(Exception):
    pass


@pytest.mark.parametrize("step", STEPS)
def test_injected_failure_propagates_and_releases_the_disk(image, step: str) -> None:
    img = image("one")

    def fail(name: str) -> None:
        if name == step:
            raise Injected(name)

    host = Host("/")
    with pytest.raises(Injected):
        grow(host, Target(str(img), 1, None, "device"), after_step=fail)
    assert set(sgdisk_problems(img)) <= {NOT_AT_END}
    report = grow(host, Target(str(img), 1, None, "device"))  # the lock was released
    assert report.new_end == NEW_END
    assert sgdisk_problems(img) == []


def test_torn_primary_write_recovers_from_the_new_backup(image) -> None:
    img = image("one")
    host = Host("/")
    with open_disk(host, str(img)) as disk:
        gpt = read_gpt(disk.read, disk.size, disk.sector_size, source=str(img))
        grown = grow_table(gpt, 1, source=str(img))
        assert grown is not None
        disk.write(grown.backup_array_lba * 512, grown.backup_array, "backup-array")
        disk.write(grown.backup_lba * 512, grown.backup, "backup-header")
        disk.write(grown.primary_array_lba * 512, grown.primary_array, "torn")  # no header
    code, out, err = run_cli("--device", str(img))
    assert code == 0, err
    assert "GPT primary header unusable (entry array CRC32 mismatch): using the backup" in err
    assert out.startswith("REPAIRED:")
    assert sgdisk_problems(img) == []
    assert partition_span(img, 1) == (2048, NEW_END)


def test_a_failed_write_says_the_disk_is_consistent_and_to_run_again(image) -> None:
    img = image("one")

    def fail(name: str) -> None:
        if name == "backup":
            raise HostError(f"{img}: cannot write primary: Input/output error")

    with pytest.raises(HostError, match=r"holds the old table or the new one .*: run again"):
        grow(Host("/"), Target(str(img), 1, None, "device"), after_step=fail)
    assert set(sgdisk_problems(img)) <= {NOT_AT_END}
