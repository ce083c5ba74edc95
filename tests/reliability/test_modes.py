"""File modes (issue 10, item 5), under the worst umask a unit could run with (0).

tests/kindling covers the socket (0600, dir 0700) and SO_PEERCRED under the usual
umask, and the datastore's own modes; this suite runs the real boot, apiclient and
apiserver with umask 0 and checks every file and directory they leave behind:
nothing world-writable, the datastore (and its WAL) 0600 in a 0700 directory,
markers and state files writable by their owner only, the socket 0600 in a 0700
directory even when /run/kindling already existed with looser bits.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kindling.host import make_dirs
from tests.bad_inputs.corpus import REPO, new_root, run_kindling
from tests.kindling.apiserver_rig import live_apiserver

USER_DATA = """[settings]
motd = "modes"
[settings.aws]
credentials = "W2RlZmF1bHRdCg=="
[settings.network]
https-proxy = "http://proxy.example:3128"
[settings.kdump]
enabled = true
"""
NET_TOML = 'version = 2\n[eth0]\ndhcp4 = true\nprimary = true\n'


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def _world_writable(root: Path) -> list[str]:
    return [
        f"{p.relative_to(root)} {_mode(p):04o}"
        for p in sorted(root.rglob("*"))
        if not p.is_symlink() and _mode(p) & stat.S_IWOTH
    ]


def test_make_dirs_ignores_the_umask(tmp_path: Path) -> None:
    with umask(0):
        make_dirs(tmp_path / "a/b/c", 0o700)
    assert [_mode(tmp_path / d) for d in ("a", "a/b", "a/b/c")] == [0o755, 0o755, 0o700]
    (tmp_path / "x").mkdir(mode=0o777)
    os.chmod(tmp_path / "x", 0o777)
    make_dirs(tmp_path / "x/y", 0o700)
    assert _mode(tmp_path / "x") == 0o777  # existing directories are not ours to change
    assert _mode(tmp_path / "x/y") == 0o700


def test_boot_and_apiclient_under_umask_0(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/lib/kindling").mkdir(parents=True)
    (root / "proc").mkdir()
    (root / "proc/meminfo").write_text("MemTotal: 8000000 kB\n")
    (root / "var/lib/kindling/user-data.toml").write_text(USER_DATA)
    (root / "var/lib/kindling/net.toml").write_text(NET_TOML)
    env = {"PATH": os.environ["PATH"]}
    with umask(0):
        boot = run_kindling(["boot", "--platform", "metal"], root, env)
        assert boot.returncode == 0, boot.stdout + boot.stderr
        for argv in (["apiclient", "set", "motd=again"], ["bootconfig", "generate"], ["netdog", "node-ip"]):
            result = run_kindling(argv, root, env)
            assert result.returncode == 0, result.stderr
    assert _world_writable(root) == []
    lib = root / "var/lib/kindling"
    for name in ("datastore.sqlite3", "datastore.sqlite3-wal"):
        if (lib / name).exists():
            assert _mode(lib / name) == 0o600, name
    assert _mode(root / "etc/network/proxy.env") == 0o600  # holds the proxy URL
    assert _mode(lib / "netdog") == 0o700
    markers = list(lib.glob("*.ran"))
    assert markers
    state = [*markers, *(lib / "netdog").iterdir(), root / "run/kindling/timeline.json", lib / "bootconfig.data"]
    for p in state:
        assert _mode(p) & (stat.S_IWGRP | stat.S_IWOTH) == 0, f"{p} {_mode(p):04o}"
    for d in [p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()]:
        assert _mode(d) & stat.S_IWGRP == 0, f"{d} {_mode(d):04o}"


def test_datastore_created_by_apiclient_under_umask_0(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with umask(0):
        assert run_kindling(["apiclient", "set", "motd=x"], root, {}).returncode == 0
    lib = root / "var/lib/kindling"
    assert _mode(lib) == 0o700 and _mode(lib / "datastore.sqlite3") == 0o600
    assert _mode(root / "var") == 0o755 and _world_writable(root) == []


def test_socket_modes_under_umask_0_and_a_loose_run_dir(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    run_dir = root / "run/kindling"
    run_dir.mkdir(parents=True, exist_ok=True)  # the seed's commit took the apply lock there
    os.chmod(run_dir, 0o777)  # left behind by something else, or by an older boot
    with umask(0), live_apiserver(root) as sock:
        assert _mode(sock) == 0o600
        assert _mode(run_dir) == 0o700
        assert stat.S_ISSOCK(sock.lstat().st_mode)


def test_apiserver_started_first_under_umask_0(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with umask(0), live_apiserver(root) as sock:
        assert _mode(sock) == 0o600 and _mode(sock.parent) == 0o700
        assert _mode(root / "run") == 0o755
    assert not _world_writable(root)
    # the server's datastore (opened on the first request) is private too
    with umask(0):
        proc = subprocess.run([sys.executable, "-m", "kindling.cli", "apiclient", "get"],
                              env=dict(os.environ, PYTHONPATH=str(REPO), KINDLING_ROOT=str(root)),
                              capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _ask_as(uid: int, sock: Path) -> bytes:
    """One GET /os from a forked child running as `uid`; the raw answer."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgid(uid)
            os.setuid(uid)
            import socket

            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(str(sock))
            s.sendall(b"GET /os HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            os.write(write_end, answer[:4096])
        except BaseException as exc:
            os.write(write_end, repr(exc).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 4096)
    os.waitpid(pid, 0)
    os.close(read_end)
    return answer


def test_peercred_allow_uid_admits_only_the_configured_user() -> None:
    """SO_PEERCRED "unless configured": `--allow-uid 65534` lets nobody in, uid 65533 stays out."""
    import shutil
    import tempfile
    import time

    from tests.kindling.apiserver_rig import _answers

    if os.geteuid() != 0:
        pytest.skip("needs root to switch the client to another uid")
    root = Path(tempfile.mkdtemp(prefix="kindling-allowuid-"))
    os.chmod(root, 0o755)
    sock = root / "run/kindling/api.sock"
    proc = subprocess.Popen([sys.executable, "-m", "kindling.cli", "apiserver", "--root", str(root),
                             "--allow-uid", "65534"],
                            env=dict(os.environ, PYTHONPATH=str(REPO)), stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not _answers(sock):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        os.chmod(sock, 0o666)  # let both users reach it: only the uid check decides
        os.chmod(sock.parent, 0o755)
        assert _ask_as(65534, sock).startswith(b"HTTP/1.1 200")
        refused = _ask_as(65533, sock)
        assert refused.startswith(b"HTTP/1.1 403") and b"not allowed" in refused
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root)
