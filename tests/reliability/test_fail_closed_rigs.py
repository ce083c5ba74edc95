"""Fail closed at every edge, part 2 (issue 16), on real rigs: the IMDS emulator that
drips, truncates and mis-announces; an ISO image cut inside its user data; a raw socket
client speaking broken HTTP framing to the live apiserver; providers that print without
end (`yes`) or leave children behind; processes racing to commit and apply.

Every refusal is checked the same way: exit 1 (or the API's 4xx), one line, no marker,
the datastore byte-for-byte unchanged, no traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kindling.apply_lock import LOCK_PATH, apply_lock
from tests.bad_inputs.corpus import REPO, live_settings, new_root, run_kindling, snapshot
from tests.imds_emulator import ImdsEmulator
from tests.kindling.apiserver_rig import live_apiserver
from tests.platforms.vmware.test_cdrom import NO_GUESTINFO, pycdlib_iso

PATH = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
USER_DATA = b'[settings]\nmotd = "from imds, whole"\n' + b"# padding\n" * 40
MARKER = "var/lib/kindling/early-boot-config.ran"


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert result.returncode == 1, out
    return result.stderr.strip().splitlines()[-1]


def _aws_env(imds: ImdsEmulator, budget: str = "3", timeout: str = "1") -> dict[str, str]:
    return {**PATH, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "KINDLING_IMDS_BUDGET": budget,
            "KINDLING_IMDS_TIMEOUT": timeout}


@pytest.fixture
def imds() -> ImdsEmulator:
    emulator = ImdsEmulator().start()
    emulator.identity("eu-west-1")
    emulator.set("user-data", USER_DATA)
    yield emulator  # type: ignore[misc]
    emulator.stop()


# -- class 2: partial input is never whole --------------------------------------------------
@pytest.mark.parametrize(("mode", "arg", "why"), [
    ("truncate", 9, "shorter than its Content-Length"),
    ("conflict", 0, "conflicting Content-Length"),
    ("nolength", 0, "no Content-Length"),
    ("overannounce", 40, "timed out"),
])
def test_imds_user_data_with_broken_framing_commits_nothing(
    tmp_path: Path, imds: ImdsEmulator, mode: str, arg: float, why: str
) -> None:
    root, host = new_root(tmp_path)
    imds.mangle("user-data", mode, arg, times=None)
    before, settings = snapshot(root), live_settings(host)
    line = _refused(run_kindling(["early-boot-config", "--platform", "aws"], root, _aws_env(imds)))
    assert "imds user-data" in line and why in line, line
    assert snapshot(root) == before and live_settings(host) == settings
    assert not (root / MARKER).exists()


def test_imds_truncated_once_is_retried_and_then_whole(tmp_path: Path, imds: ImdsEmulator) -> None:
    root, host = new_root(tmp_path)
    imds.mangle("user-data", "truncate", 9, times=2)
    result = run_kindling(["early-boot-config", "--platform", "aws"], root, _aws_env(imds, budget="10"))
    assert result.returncode == 0, result.stderr
    assert live_settings(host)["motd"] == "from imds, whole"


def test_an_iso_cut_inside_its_user_data_is_refused(tmp_path: Path) -> None:
    root, host = new_root(tmp_path)
    data = b'[settings]\nmotd = "' + b"x" * 6000 + b'"\n'
    image = pycdlib_iso(tmp_path / "ud.iso", {"user-data": data}, joliet=True).read_bytes()
    start = image.find(b'[settings]\nmotd = "xxx')
    assert start > 0
    tool = tmp_path / "rpctool"
    tool.write_text(NO_GUESTINFO)
    tool.chmod(0o755)
    env = {**PATH, "KINDLING_VMWARE_RPCTOOL": str(tool)}
    (root / "dev").mkdir(exist_ok=True)
    for cut in (start + 100, start + 5000, len(image) - 2048):
        (root / "dev/sr0").write_bytes(image[:cut])
        before, settings = snapshot(root), live_settings(host)
        line = _refused(run_kindling(["early-boot-config", "--platform", "vmware"], root, env))
        assert "(/dev/sr0): truncated image" in line, line
        assert snapshot(root) == before and live_settings(host) == settings


def _raw(sock: Path, request: bytes, *, half_close: bool = True) -> tuple[int, bytes]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(40)
        s.connect(str(sock))
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize(("request_bytes", "status", "why"), [
    (b"PATCH /settings?tx=t HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"motd\": \"short\"}", 400, b"shorter"),
    (b"PATCH /settings?tx=t HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\nContent-Length: 5\r\n\r\n"
     b"{\"motd\": \"short\"}", 400, b"conflicting Content-Length"),
    (b"PATCH /settings?tx=t HTTP/1.1\r\nHost: x\r\nContent-Length: +17\r\n\r\n{\"motd\": \"short\"}", 400, b"invalid"),
    (b"PATCH /settings?tx=t HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\nTransfer-Encoding: identity\r\n\r\n"
     b"{\"motd\": \"short\"}", 411, b"Transfer-Encoding"),
], ids=["short-body", "two-lengths", "signed-length", "length-and-encoding"])
def test_api_framing_is_exact(tmp_path: Path, request_bytes: bytes, status: int, why: bytes) -> None:
    root, host = new_root(tmp_path)
    with live_apiserver(root) as sock:
        before = live_settings(host)
        got, answer = _raw(sock, request_bytes)
        assert got == status and why in answer, answer
        got, answer = _raw(sock, b"GET /tx?tx=t HTTP/1.1\r\nHost: x\r\n\r\n")
        assert got == 404, answer  # nothing was PATCHed
        assert live_settings(host) == before


# -- class 3: real deadlines ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["user-data", "api/token"])
def test_a_dripping_imds_is_cut_off_by_the_budget(tmp_path: Path, imds: ImdsEmulator, path: str) -> None:
    root, _host = new_root(tmp_path)
    imds.mangle(path, "drip", 0.25, times=None)  # ~0.5 KiB at 4 bytes/s: minutes if allowed
    before = snapshot(root)
    start = time.monotonic()
    line = _refused(run_kindling(["early-boot-config", "--platform", "aws"], root, _aws_env(imds)))
    elapsed = time.monotonic() - start
    assert "timed out" in line and "budget 3s" in line, line
    assert elapsed < 3 + 1 + 5, elapsed  # the budget, one request's timeout, interpreter start
    assert snapshot(root) == before


# -- class 6: bounded child processes --------------------------------------------------------
def _provider(root: Path, body: str) -> None:
    target = root / "etc/kindling/providers.d/50-case"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body)
    target.chmod(0o755)


def test_a_provider_printing_without_end_is_stopped_at_the_cap(tmp_path: Path) -> None:
    root, _host = new_root(tmp_path)
    _provider(root, "#!/bin/sh\nexec yes\n")
    before = snapshot(root)
    start = time.monotonic()
    line = _refused(run_kindling(["early-boot-config", "--platform", "metal"], root, PATH, timeout=60))
    assert "50-case): output larger than 1024 KiB" in line, line
    assert time.monotonic() - start < 20
    assert snapshot(root) == before


def test_a_timed_out_provider_takes_its_children_with_it(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    pidfile = tmp_path / "child.pid"
    _provider(root, f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\nsleep 300\n")
    env = {**PATH, "KINDLING_PROVIDER_TIMEOUT": "1"}
    line = _refused(run_kindling(["early-boot-config", "--platform", "metal"], root, env, timeout=60))
    assert "50-case): timed out after 1s" in line, line
    child = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        pytest.fail("the provider's child outlived its timeout")


def test_a_provider_flooding_stderr_is_logged_in_few_lines(tmp_path: Path) -> None:
    root, host = new_root(tmp_path)
    _provider(root, "#!/bin/sh\ni=0\nwhile [ $i -lt 3000 ]; do echo \"noise $i\" >&2; i=$((i+1)); done\n"
                    "echo '{\"json\": {\"motd\": \"from the provider\"}}'\n")
    result = run_kindling(["early-boot-config", "--platform", "metal"], root, PATH)
    assert result.returncode == 0, result.stderr[-2000:]
    noise = [line for line in result.stderr.splitlines() if "noise " in line]
    assert 0 < len(noise) <= 50
    assert "more stderr lines not logged" in result.stderr
    assert live_settings(host)["motd"] == "from the provider"


# -- class 7: one lock around commit-and-apply, across processes ------------------------------
def _setter(root: Path, values: list[str]) -> subprocess.Popen[str]:
    script = ("import sys; from kindling.cli import main\n"
              "for v in sys.argv[1:]:\n"
              "    assert main(['apiclient', '--direct', 'set', 'motd=' + v]) == 0\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "KINDLING_ROOT": str(root)}
    return subprocess.Popen([sys.executable, "-c", script, *values], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_racing_direct_clients_leave_motd_equal_to_the_committed_value(tmp_path: Path) -> None:
    root, host = new_root(tmp_path)
    a = _setter(root, [f"a{i}" for i in range(12)])
    b = _setter(root, [f"b{i}" for i in range(12)])
    for proc in (a, b):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "Traceback" not in err, err
    committed = live_settings(host)["motd"]
    assert committed in ("a11", "b11")
    assert (root / "etc/motd").read_text().strip() == committed


def test_a_held_lock_makes_a_commit_wait(tmp_path: Path) -> None:
    root, host = new_root(tmp_path)
    from kindling.host import Host

    with apply_lock(Host(root)):
        assert (root / LOCK_PATH.lstrip("/")).exists()
        proc = _setter(root, ["while-locked"])
        time.sleep(1.5)
        assert proc.poll() is None  # waiting on the flock
        assert live_settings(host).get("motd") != "while-locked"
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert live_settings(host)["motd"] == "while-locked"
    assert (root / "etc/motd").read_text().strip() == "while-locked"
