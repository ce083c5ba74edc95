"""Fault injection with the real rigs (issue 10, item 3).

IMDS faults run early-boot-config end to end (real client, real HTTP to the
emulator, real datastore) with a FakeClock whose sleeps can change the world, so an
outage that "lasts 20 s" costs no waiting. The CLI tests use the real clock with a
short budget to prove the bounded time. The dump test fills a real (small) tmpfs.

Already covered by the component suites, not repeated here:
- DHCP server absent: tests/netdog/test_apply_rig.py (optional interface does not
  block; required fails in bounded time naming the interface).
- SIGKILL during a datastore commit: tests/kindling/test_datastore.py.
- SIGKILL after each GPT write step and between writes inside a step, torn primary
  header: tests/growpart/test_growpart_crash.py.
- Hung / slow IMDS per request, 404 never retried, HTTP-date Retry-After:
  tests/platforms/aws/test_imds_client.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from early_boot.errors import ProviderError
from early_boot.runner import run_early_boot
from kindling.host import FakeClock, Host
from kindling.record import field, record
from tests.bad_inputs.corpus import REPO
from tests.early_boot_helpers import live, marker_exists, seed, state
from tests.imds_emulator import ImdsEmulator

USER_DATA = '[settings]\nmotd = "after the storm"\n[settings.kubernetes]\ncluster-name = "c1"\n'


@record
class EventClock(FakeClock):
    """A FakeClock that calls `at(slept_so_far)` hooks as time passes (faults that end)."""

    hooks: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def at(self, seconds: float, action: Callable[[], None]) -> None:
        self.hooks.append((seconds, action))

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        slept = sum(self.sleeps)
        for due, action in [h for h in self.hooks if h[0] <= slept]:
            self.hooks.remove((due, action))
            action()


@pytest.fixture
def eclock() -> EventClock:
    return EventClock()


def _aws_host(root: Path, clock: FakeClock, imds: ImdsEmulator, budget: str = "300") -> Host:
    return Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "KINDLING_IMDS_BUDGET": budget})


def test_outage_then_recovery(root: Path, eclock: EventClock, imds: ImdsEmulator) -> None:
    imds.identity("eu-west-1")
    imds.set("user-data", USER_DATA)
    imds.outage("refuse")
    eclock.at(20.0, lambda: imds.outage(None))  # the service comes back after ~20 s
    host = _aws_host(root, eclock, imds)
    seed(host)
    run_early_boot(host, "aws")
    assert live(host)["motd"] == "after the storm" and marker_exists(host)
    dropped = [r for r in imds.requests if r.status is None]
    assert len(dropped) >= 5  # Fibonacci: 0.25 0.25 0.5 0.75 1.25 2 3.25 5.25 8.5 …
    assert 20.0 <= sum(eclock.sleeps) < 20.0 + 10 * 1.1  # at most one capped wait too many
    assert [s for s in eclock.sleeps if s > 11] == []  # cap 10 s (+10 % jitter)


def test_throttle_storm_honours_every_retry_after(root: Path, eclock: EventClock, imds: ImdsEmulator) -> None:
    imds.identity("us-east-2")
    imds.set("user-data", USER_DATA)
    imds.fail_token(503, times=3, retry_after="2")
    imds.fail("*", 429, times=6, retry_after="1.5")
    imds.fail("user-data", 503, times=4, retry_after="0")
    host = _aws_host(root, eclock, imds)
    run_early_boot(host, "aws")
    assert live(host)["aws"] == {"region": "us-east-2"}
    # Retry-After replaces the computed backoff exactly, including "0" (retry at once)
    assert eclock.sleeps == [2.0] * 3 + [1.5] * 6 + [0.0] * 4
    statuses = [r.status for r in imds.requests]
    assert statuses.count(429) == 6 and statuses.count(503) == 7


def test_token_expires_mid_run(root: Path, eclock: EventClock, imds: ImdsEmulator) -> None:
    imds.identity()
    imds.set("user-data", USER_DATA)
    imds.fail("user-data", 503, times=1, retry_after="1")
    eclock.at(1.0, imds.expire_tokens)  # the token dies while the client waits
    host = _aws_host(root, eclock, imds)
    run_early_boot(host, "aws")
    assert live(host)["motd"] == "after the storm"
    assert imds.count("PUT") == 2  # one refresh, at once (no extra backoff)
    assert eclock.sleeps == [1.0]
    assert [r.status for r in imds.requests if r.path.endswith("user-data")] == [503, 401, 200]


def test_retry_after_beyond_the_budget_gives_up_at_once(root: Path, eclock: EventClock, imds: ImdsEmulator) -> None:
    imds.identity()
    imds.set("user-data", USER_DATA)
    imds.fail("user-data", 429, times=100, retry_after="20")
    host = _aws_host(root, eclock, imds, budget="30")
    seed(host)
    before = state(host)
    with pytest.raises(ProviderError, match=r"provider ec2-imds .*imds user-data: gave up after 2 attempts"):
        run_early_boot(host, "aws")
    assert eclock.sleeps == [20.0]  # the second 20 s would overrun: no pointless wait
    assert state(host) == before and not marker_exists(host)


def test_budget_exhausted_during_a_storm_commits_nothing(root: Path, eclock: EventClock, imds: ImdsEmulator) -> None:
    imds.identity()
    imds.set("user-data", USER_DATA)
    imds.fail("*", 503, times=1000)  # no Retry-After: Fibonacci backoff until the budget ends
    host = _aws_host(root, eclock, imds, budget="60")
    seed(host)
    before = state(host)
    with pytest.raises(ProviderError, match=r"budget 60s\): GET dynamic/instance-identity/document: HTTP 503"):
        run_early_boot(host, "aws")
    assert sum(eclock.sleeps) <= 60
    assert state(host) == before and not marker_exists(host)


def _cli(root: Path, imds: ImdsEmulator, budget: str, timeout: str) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO),
        "KINDLING_ROOT": str(root),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
        "KINDLING_IMDS_BUDGET": budget,
        "KINDLING_IMDS_TIMEOUT": timeout,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "kindling.cli", "early-boot-config", "--platform", "aws"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_slow_service_near_the_budget_fails_in_bounded_time(root: Path, imds: ImdsEmulator) -> None:
    """Every answer takes longer than the per-request timeout: the real clock, a 1.5 s budget."""
    imds.identity()
    imds.set("user-data", USER_DATA)
    imds.delay("*", 0.6)
    seed(Host(root))
    before = state(Host(root))
    start = time.monotonic()
    proc = _cli(root, imds, budget="1.5", timeout="0.25")
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - start
    assert proc.returncode == 1, err
    assert "provider ec2-identity-doc" in err and "gave up after" in err and "budget 1.5s" in err
    assert took < 1.5 + 0.25 + 2.0  # budget + one request timeout + interpreter start
    assert state(Host(root)) == before


def test_slow_but_within_timeout_succeeds(root: Path, imds: ImdsEmulator) -> None:
    imds.identity()
    imds.set("user-data", USER_DATA)
    imds.delay("*", 0.15)
    proc = _cli(root, imds, budget="3", timeout="1")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert live(Host(root))["motd"] == "after the storm"


def test_sigkill_while_fetching_then_rerun_recovers(root: Path, imds: ImdsEmulator) -> None:
    """Killed mid-boot (IMDS answering slowly): nothing committed, no marker; the rerun commits."""
    imds.identity()
    imds.set("user-data", USER_DATA)
    imds.delay("user-data", 2.0)
    host = Host(root)
    seed(host)
    before = state(host)
    proc = _cli(root, imds, budget="30", timeout="10")
    deadline = time.monotonic() + 20
    while imds.count("GET", "instance-identity/document") == 0:  # (logged when answered)
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    time.sleep(0.3)  # now inside the 2 s user-data request
    assert imds.count("GET", "user-data") == 0 and proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    after = {k: v for k, v in state(host).items() if not (k.endswith("-wal") and v == b"")}
    assert after == before and not marker_exists(host)  # (an empty WAL is no change)
    imds.delay("user-data", 0.0)
    rerun = _cli(root, imds, budget="30", timeout="10")
    _, err = rerun.communicate(timeout=30)
    assert rerun.returncode == 0, err
    assert live(host)["motd"] == "after the storm" and marker_exists(host)


# -- disk full while a dump is written --------------------------------------------------------

_FILLING_MAKEDUMPFILE = """#!/bin/sh
for last; do :; done
case " $* " in
  *" --dump-dmesg "*) printf 'dmesg' > "$last"; exit $?;;
esac
# the dump turns out far bigger than estimated: write until the filesystem is full
head -c 700M /dev/zero > "$last" || { echo "makedumpfile: write error" >&2; exit 1; }
"""


@pytest.fixture
def small_dump_fs(tmp_path: Path) -> Iterator[Path]:
    """A 400 MiB tmpfs mounted at <root>/var/log/kdump (root only); unmounted after."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "root/var/log/kdump"
    mnt.mkdir(parents=True)
    tag = f"kindling-rel-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400M,mode=0700", tag, str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_disk_fills_during_dump_capture(small_dump_fs: Path, tmp_path: Path) -> None:
    from kdump.capture import capture_dump
    from kdump.dumps import list_dumps
    from kdump.errors import KdumpError, NoSpaceForDump

    root = tmp_path / "root"
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    tool = fakebin / "makedumpfile"
    tool.write_text(_FILLING_MAKEDUMPFILE)
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    (root / "proc").mkdir()
    (root / "proc/vmcore").touch()
    os.truncate(root / "proc/vmcore", 8 << 20)
    old = small_dump_fs / "20230101T000000Z"
    old.mkdir()
    (old / "vmcore.dump").write_bytes(b"old dump")
    (old / "status").write_text("complete\n")
    clock = FakeClock()
    host = Host(root, clock=clock, env={"PATH": f"{fakebin}:{os.environ['PATH']}", "KINDLING_ACT_ON_KERNEL": "1"})

    with pytest.raises(KdumpError, match=r"vmcore.dump: makedumpfile exited 1: .*\(kept, marked partial\)"):
        capture_dump(host, {})
    # the earlier dump is intact; the failed one is listed as partial, with the reason
    assert (old / "vmcore.dump").read_bytes() == b"old dump"
    dumps = {d.name: d for d in list_dumps(host)}
    assert dumps["20230101T000000Z"].status == "complete"
    (new,) = [n for n in dumps if n != "20230101T000000Z"]
    assert dumps[new].status == "partial" and "makedumpfile exited 1" in dumps[new].detail
    assert not [p for p in (small_dump_fs / new).iterdir() if ".kindling-tmp." in p.name]

    # still full: the next capture refuses before deleting or writing anything
    clock.sleep(5)
    with pytest.raises(NoSpaceForDump):
        capture_dump(host, {})
    assert sorted(p.name for p in small_dump_fs.iterdir()) == sorted(dumps)

    # space comes back (the operator removes the partial dump): the next capture works
    shutil.rmtree(small_dump_fs / new)
    tool.write_text("#!/bin/sh\nfor last; do :; done\nprintf 'dump' > \"$last\"\n")
    result = capture_dump(host, {})
    assert result.complete
    assert {d.name: d.status for d in list_dumps(host)}[result.name] == "complete"


# -- the throttle the fleet simulation relies on ------------------------------------------------
def test_emulator_throttle_answers_429_with_retry_after(root: Path, eclock: EventClock, imds: ImdsEmulator) -> None:
    imds.identity("eu-central-1")
    imds.set("user-data", USER_DATA)
    imds.use_clock(eclock.monotonic)  # the server's time is the client's: only sleeps refill
    imds.throttle(2, burst=2, retry_after="3")
    host = _aws_host(root, eclock, imds)
    run_early_boot(host, "aws")
    assert [r.status for r in imds.requests] == [200, 200, 429, 200]
    assert eclock.sleeps == [3.0]
    imds.throttle(None)
    assert live(host)["motd"] == "after the storm"


def test_small_fleet_through_the_bench_harness(tmp_path: Path) -> None:
    """bench/bench_fleet.py's scenario runner on 40 nodes: all boot, the throttle holds."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_fleet
    finally:
        sys.path.remove(str(REPO / "bench"))
    result = bench_fleet.run_scenario("t", nodes=40, rate=40, scale=10, window=0.5, retry_after="1",
                                      budget=60, base=tmp_path)
    assert result.booted == 40 and not result.failed
    assert result.throttled > 0 and result.requests == 3 * 40 + result.throttled
    assert result.peak_served <= 40 + 4 + 1  # rate + burst (rate/10), one window edge
