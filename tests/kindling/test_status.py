"""`kindling status`: done, failed (with the reason), running, interrupted, never booted;
`--wait` returns when another process finishes the boot and gives up at `--timeout`.

Every boot here is a real `kindling boot` on a copy of the demo node. A boot is held
"running" by an external user-data provider (the documented providers.d contract)
that waits for a gate file the test creates.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.boot_progress import PROGRESS_PATH, boot_lock, write_progress
from kindling.host import FakeClock, Host
from kindling.status import EXIT_CODES, POLL, read_status, wait_for_boot

KINDLING = str(Path(sys.executable).with_name("kindling"))
DEMO_ROOT = Path(__file__).resolve().parents[2] / "demo" / "root"
ENV = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}


def kindling(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINDLING, *args, "--root", str(root)], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([KINDLING, *args, "--root", str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)


def status_json(root: Path, *args: str) -> tuple[int, dict[str, object]]:
    out = kindling(root, "status", "--json", *args)
    assert out.stderr == "" or "waiting for" in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout)


@pytest.fixture
def node(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(DEMO_ROOT, root, symlinks=True)
    return root


@pytest.fixture
def gated(node: Path, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A node whose boot blocks in early-boot-config until the gate file exists."""
    gate = tmp_path / "gate"
    provider = node / "etc/kindling/providers.d/50-gate"
    provider.parent.mkdir(parents=True, exist_ok=True)
    provider.write_text(f"#!/bin/sh\nwhile [ ! -e {gate} ]; do sleep 0.05; done\n")
    provider.chmod(0o755)
    yield node, gate
    gate.touch()  # whatever happened, let a provider still waiting go


def wait_running(root: Path, boot: subprocess.Popen[str], stage: str = "early-boot-config") -> None:
    """Until the boot's state file names `stage` (real time: another process runs it)."""
    state_file = root / PROGRESS_PATH.lstrip("/")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert boot.poll() is None, boot.communicate()
        try:
            if json.loads(state_file.read_text()).get("stage") == stage:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"the boot never reached {stage}")


def test_never_booted(node: Path) -> None:
    code, doc = status_json(node)
    assert code == EXIT_CODES["not-started"] == 4
    assert doc["state"] == "not-started" and doc["stages"] == [] and doc["first_boot"] == []
    assert doc["ok"] is False and doc["error"]["kind"] == "not-started"  # the envelope agrees with the exit
    text = kindling(node, "status")
    assert text.returncode == 4
    assert text.stdout.splitlines()[:2] == ["status: not started",
                                            "detail: no boot recorded on this root (run 'kindling boot')"]


def test_done_after_a_real_boot(node: Path) -> None:
    boot = kindling(node, "boot", "--platform", "metal")
    assert boot.returncode == 0, boot.stdout + boot.stderr
    code, doc = status_json(node)
    assert code == 0 and doc["ok"] is True and "error" not in doc
    assert doc["state"] == "done" and doc["platform"] == "metal"
    timeline = json.loads((node / "run/kindling/timeline.json").read_text())
    assert [s["name"] for s in doc["stages"]] == [s["name"] for s in timeline["stages"]]
    totals = doc["totals"]
    assert totals["stages"] == len(timeline["stages"]) and totals["failed"] == 0
    assert totals["ok"] + totals["skipped"] == totals["stages"] and totals["duration_ms"] > 0
    assert doc["failures"] == [] and doc["started"] == pytest.approx(timeline["started"], abs=0.01)
    assert doc["finished"] >= doc["started"]
    assert doc["first_boot"] == [{"marker": "/var/lib/kindling/early-boot-config.ran", "state": "done",
                                  "detail": "/var/lib/kindling/early-boot-config.ran exists"}]
    text = kindling(node, "status").stdout
    assert text.startswith("status: done\nplatform: metal\n")
    assert f"stages: {totals['stages']} in " in text and "early-boot-config        ok: " in text


def test_failed_stage_with_its_reason(node: Path) -> None:
    (node / "var/lib/kindling/user-data.toml").write_text('[settings]\nmotd = 5\n')
    assert kindling(node, "boot", "--platform", "metal").returncode == 1
    code, doc = status_json(node)
    assert code == 1 and doc["state"] == "failed"
    assert doc["ok"] is False and doc["error"]["source"] == "boot" and doc["error"]["kind"] == "failed"
    assert doc["error"]["message"].startswith("early-boot-config: provider local-user-data")
    assert [f["stage"] for f in doc["failures"]] == ["early-boot-config"]
    assert "settings.motd: expected a string" in doc["failures"][0]["reason"]
    skipped = {s["name"]: s["detail"] for s in doc["stages"] if s["status"] == "skipped"}
    assert skipped["apply-settings"] == "early-boot-config failed"
    text = kindling(node, "status")
    assert text.returncode == 1
    assert "detail: early-boot-config: provider local-user-data" in text.stdout
    assert "  early-boot-config        failed: provider local-user-data" in text.stdout


def test_running_then_wait_returns_when_the_boot_finishes(gated: tuple[Path, Path]) -> None:
    node, gate = gated
    boot = start(node, "boot", "--platform", "metal")
    try:
        wait_running(node, boot)
        code, doc = status_json(node)
        assert code == EXIT_CODES["running"] == 3
        assert doc["state"] == "running" and doc["stage"] == "early-boot-config" and doc["pid"] == boot.pid
        assert doc["stages"] == []  # no timeline of this boot yet
        assert kindling(node, "status").stdout.startswith(f"status: running\ndetail: pid {boot.pid}, stage "
                                                          "early-boot-config for ")
        waiter = start(node, "status", "--wait", "--timeout", "60")
        time.sleep(0.5)
        assert waiter.poll() is None  # still waiting while the boot runs
        gate.touch()
        out, err = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, out + err
        assert err.splitlines() == ["wait: waiting for the boot to finish (at most 60s)"]
        assert out.startswith("status: done\n")
        assert boot.wait(timeout=60) == 0
    finally:
        gate.touch()
        boot.wait(timeout=60)


def test_wait_gives_up_at_the_timeout_with_code_3(gated: tuple[Path, Path]) -> None:
    node, gate = gated
    boot = start(node, "boot", "--platform", "metal")
    try:
        wait_running(node, boot)
        began = time.monotonic()
        out = kindling(node, "status", "--wait", "--timeout", "0.5")
        assert out.returncode == 3, out.stdout + out.stderr
        assert 0.5 <= time.monotonic() - began < 30
        assert out.stderr.splitlines() == ["wait: waiting for the boot to finish (at most 0.5s)"]
        assert out.stdout.startswith("status: running\n")
    finally:
        gate.touch()
        assert boot.wait(timeout=60) == 0


def test_a_killed_boot_is_failed_interrupted(gated: tuple[Path, Path]) -> None:
    node, _gate = gated  # the fixture opens it afterwards: the provider child outlives the boot
    boot = start(node, "boot", "--platform", "metal")
    wait_running(node, boot)
    os.kill(boot.pid, signal.SIGKILL)
    boot.wait(timeout=30)
    code, doc = status_json(node)
    assert code == 1 and doc["state"] == "failed" and doc["stage"] == "early-boot-config"
    assert doc["detail"].startswith(f"interrupted: the boot (pid {boot.pid}) stopped during stage "
                                    "early-boot-config without recording its end")
    # --wait does not wait for a boot that is gone
    assert kindling(node, "status", "--wait", "--timeout", "30", timeout=20).returncode == 1


def test_a_second_boot_is_refused_while_one_runs(gated: tuple[Path, Path]) -> None:
    node, gate = gated
    boot = start(node, "boot", "--platform", "metal")
    try:
        wait_running(node, boot)
        second = kindling(node, "boot", "--platform", "metal")
        assert second.returncode == 1
        assert second.stderr == (f"kindling boot: another kindling boot is running on this root (pid {boot.pid}); "
                                 "'kindling status --wait' waits for it\n")
        assert kindling(node, "status").returncode == 3  # the first boot's state is untouched
    finally:
        gate.touch()
        assert boot.wait(timeout=60) == 0
    assert kindling(node, "status").returncode == 0


def test_wait_deadline_is_on_the_host_clock(tmp_path: Path) -> None:
    """The wait sleeps through the Host clock (free with a fake one) and stops at the deadline."""
    clock = FakeClock()
    host = Host(tmp_path, clock=clock)
    with boot_lock(host):  # this process "runs" a boot: the reader's shared lock is refused
        write_progress(host, {"state": "running", "pid": os.getpid(), "platform": "metal",
                           "started": clock.time(), "stage": "growpart", "stage_started": clock.time()})
        status = wait_for_boot(host, 5.0)
    assert status.state == "running" and status.stage == "growpart"
    assert sum(clock.sleeps) == pytest.approx(5.0) and max(clock.sleeps) <= POLL
    assert read_status(host).state == "failed"  # the lock is free now: the boot was interrupted


def test_a_timeline_without_a_state_file_still_says_done_or_failed(tmp_path: Path) -> None:
    """A node booted by a Kindling that wrote no state file."""
    (tmp_path / "run/kindling").mkdir(parents=True)
    stage = {"name": "growpart", "status": "failed", "detail": "boom", "start_ms": 0.0, "duration_ms": 2.0}
    (tmp_path / "run/kindling/timeline.json").write_text(json.dumps(
        {"platform": "aws", "plan": False, "started": 1.0, "ok": False, "stages": [stage]}))
    status = read_status(Host(tmp_path))
    assert (status.state, status.platform, status.detail) == ("failed", "aws", "growpart: boom")


def test_usage_errors(node: Path) -> None:
    for args in (["--timeout", "5"], ["--wait", "--timeout", "0"], ["--wait", "--timeout", "soon"]):
        out = kindling(node, "status", *args)
        assert out.returncode == 2 and "Traceback" not in out.stderr, args


@pytest.mark.parametrize("before", [None, "done"], ids=["fresh-run", "an-earlier-run-ended"])
def test_a_boot_that_has_not_written_its_first_state_is_running(tmp_path: Path, before: str | None) -> None:
    """The runner writes its "running" state with the first stage that runs: until then
    the lock alone says a boot runs, whatever an earlier run left in the file."""
    host = Host(tmp_path)
    if before is not None:
        write_progress(host, {"state": before, "pid": 1, "platform": "metal", "started": 1.0, "finished": 2.0})
    with boot_lock(host):
        status = read_status(host)
    assert (status.state, status.stage, status.pid, status.detail) == ("running", None, None, "starting")
    assert read_status(host).state == ("done" if before else "not-started")  # the lock is free again
