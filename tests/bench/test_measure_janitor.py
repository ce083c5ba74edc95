"""Measuring a real child process, and undoing what a benchmark made (bench/, issue 9)."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest

from bench.janitor import Janitor
from bench.measure import GNU_TIME, CommandFailed, peak_rss_kb, run_once


@pytest.mark.skipif(not os.access(GNU_TIME, os.X_OK), reason="GNU time not installed (Debian package `time`)")
def test_run_once_measures_a_real_child() -> None:
    s = run_once([sys.executable, "-c", "import sys; b = bytearray(30 * 2**20); print('hi'); sys.exit(3)"])
    assert s.rc == 3
    assert s.stdout == "hi\n"
    assert 30 <= s.maxrss_mb < 45  # the 30 MiB buffer, without the copy of this process
    assert math.isnan(run_once(["true"], rss=False).maxrss_mb)
    assert s.wall_ms > 0 and s.cpu_ms >= 0
    with pytest.raises(CommandFailed, match="exited 3"):
        run_once([sys.executable, "-c", "import sys; sys.exit(3)"], check=True, rss=False)


def test_run_once_gives_a_clean_environment() -> None:
    s = run_once([sys.executable, "-c", "import os; print(sorted(os.environ))"], rss=False)
    assert s.stdout.strip() == "['HOME', 'LANG', 'PATH']"


def test_peak_rss_kb_reads_gnu_time_output() -> None:
    assert peak_rss_kb("Command exited with non-zero status 3\n2048\n") == 2048.0
    assert math.isnan(peak_rss_kb(""))


def test_run_once_kills_on_timeout() -> None:
    s = run_once(["sleep", "5"], timeout=0.2, rss=False)
    assert s.rc == -9
    assert s.wall_ms < 3000


def _broken() -> None:
    raise OSError("device busy")


def test_janitor_undoes_in_reverse_also_after_failure(tmp_path: Path) -> None:
    order: list[str] = []
    with pytest.raises(RuntimeError), Janitor().scope() as j:
        d = j.tempdir("t")
        (d / "f").write_text("x")
        j.push("first", lambda: order.append("first"))
        j.push("broken", _broken)
        j.push("last", lambda: order.append("last"))
        raise RuntimeError("measurement failed")
    assert order == ["last", "first"]  # the broken step did not stop the others
    assert not d.exists()
    assert any("broken" in p for p in j.problems)


def test_janitor_cleanup_last_undoes_only_the_newest() -> None:
    order: list[str] = []
    j = Janitor()
    for name in ("a", "b", "c"):
        j.push(name, lambda name=name: order.append(name))  # type: ignore[misc]
    j.cleanup_last(2)
    assert order == ["c", "b"]
    j.cleanup()
    assert order == ["c", "b", "a"]
