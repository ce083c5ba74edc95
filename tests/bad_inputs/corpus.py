"""The bad-input corpus: `cases.toml` + `inputs/`, and how each kind of case is planted.

One manifest names every case: its kind (where the input goes and which real
`kindling` command reads it), the input file, and the text the error must contain.
A kind's defaults live here, so a case is a few lines of data; `test_bad_inputs.py`
runs them, the secret canary reuses `run_kindling`.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kindling.api.service import SettingsService
from kindling.host import FakeClock, Host
from tests.early_boot_helpers import seed
from tests.platforms.vmware.test_cdrom import NO_GUESTINFO, pycdlib_iso
from tests.platforms.vmware.test_guestinfo import RPCTOOL

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
INPUTS = HERE / "inputs"
REPO = HERE.parents[1]

# kind -> (where the input is planted under the root, the command that reads it)
KINDS: dict[str, tuple[str | None, list[str]]] = {
    "userdata": ("/var/lib/kindling/user-data.toml", ["early-boot-config", "--platform", "metal"]),
    "nettoml": ("/var/lib/kindling/net.toml", ["netdog", "generate-net-config"]),
    "bootconfig": ("/proc/bootconfig", ["bootconfig", "parse", "--commit"]),
    "ovf": ("/dev/sr0", ["early-boot-config", "--platform", "vmware"]),
    "guestinfo": (None, ["early-boot-config", "--platform", "vmware"]),
    "driver": ("/etc/kindling/drivers/10-case.toml", ["gpu", "link-modules", "--kernel-version", "6.1.0-case"]),
    "apply": (None, ["apiclient", "apply", "{input}"]),
    "set": (None, ["apiclient", "set"]),
    "api": (None, []),
    "aws": (None, ["cfsignal"]),
    "provider": ("/etc/kindling/providers.d/50-case", ["early-boot-config", "--platform", "metal"]),
    "kdump": ("/proc/meminfo", ["kdump", "plan"]),  # the input is a settings tree (JSON) committed before the run
}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    expect: list[str]
    input: str | None = None
    gen: str | None = None  # "pad:N" (N bytes of TOML comment), for inputs too big to commit
    plant: str | None = None
    also: dict[str, str] = field(default_factory=dict)  # more files: root path -> input file
    command: list[str] | None = None  # instead of the kind's command
    args: list[str] = field(default_factory=list)
    encoding: str | None = None  # guestinfo.userdata.encoding
    method: str = "GET"  # api
    target: str = "/"  # api
    status: int = 400  # api


def load_cases() -> list[Case]:
    doc = tomllib.loads((HERE / "cases.toml").read_text())
    cases = []
    for raw in doc["case"]:
        expect = raw.pop("expect")
        cases.append(Case(expect=[expect] if isinstance(expect, str) else list(expect), **raw))
    return cases


def input_bytes(case: Case) -> bytes:
    if case.gen is not None:
        what, _, size = case.gen.partition(":")
        assert what == "pad", case.gen
        line = b"# " + b"x" * 77 + b"\n"
        return b'[settings]\nmotd = "padded"\n' + line * (int(size) // len(line) + 1)
    assert case.input is not None, case.id
    return (INPUTS / case.input).read_bytes()


def in_thread(fn: Callable[[], T]) -> T:
    """Run `fn` in a short-lived thread and return its result.

    SettingsService keeps one open datastore connection per thread; an open connection
    in this process would hold the WAL open while the command under test runs, and
    the datastore's bytes would then depend on who closed last. A thread that ends
    drops its connection, so every case starts from a closed, checkpointed datastore.
    """
    import threading

    out: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    import gc

    gc.collect()  # the thread's cached Datastore sits in a reference cycle: close it now
    if errors:
        raise errors[0]
    return out[0]


def live_settings(host: Host) -> dict[str, Any]:
    """The live settings, read without leaving a connection open (see `in_thread`)."""
    return in_thread(lambda: SettingsService(host).get_settings())


def new_root(tmp_path: Path) -> tuple[Path, Host]:
    """A fresh root with a datastore that already holds settings (so "unchanged" bites)."""
    root = tmp_path / "root"
    root.mkdir()
    host = Host(root, clock=FakeClock(), env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    in_thread(lambda: seed(host))
    return root, host


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under `root` (datastore, WAL, markers, outputs) by content.

    An empty `-wal` file counts as absent: SQLite treats a zero-length WAL as no WAL,
    and whether one exists depends only on when a reader's connection closed. The
    commit-and-apply lock file (`/run/kindling/apply.lock`, empty) is no state either.
    """
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and not p.name.endswith("-shm")
        and p.name != "apply.lock"
        and not (p.name.endswith("-wal") and p.stat().st_size == 0)
    }


_IMDS: list[Any] = []


def shared_imds() -> str:
    """One IMDS emulator for the AWS cases (instance id, identity), stopped at exit."""
    if not _IMDS:
        import atexit

        from tests.imds_emulator import ImdsEmulator

        imds = ImdsEmulator().start()
        imds.set("meta-data/instance-id", "i-0123456789abcdef0")
        imds.identity("us-west-2")
        atexit.register(imds.stop)
        _IMDS.append(imds)
    return str(_IMDS[0].url)


def _tool(path: Path, body: str) -> str:
    path.write_text(body)
    path.chmod(0o755)
    return str(path)


def plant(case: Case, root: Path, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """Put the case's input where its kind reads it; returns (argv after `kindling`, env)."""
    where, argv = KINDS[case.kind]
    argv = case.command or argv
    where = case.plant or where
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    data = input_bytes(case) if (case.input or case.gen) else b""
    if case.kind == "ovf":
        data = pycdlib_iso(tmp_path / "env.iso", {"ovf-env.xml": data}).read_bytes()
        env["KINDLING_VMWARE_RPCTOOL"] = _tool(tmp_path / "rpctool", NO_GUESTINFO)
    if case.kind == "guestinfo":
        gi = tmp_path / "guestinfo"
        gi.mkdir()
        (gi / "guestinfo.userdata").write_bytes(data)
        if case.encoding is not None:
            (gi / "guestinfo.userdata.encoding").write_text(case.encoding)
        env["KINDLING_VMWARE_RPCTOOL"] = _tool(tmp_path / "rpctool", RPCTOOL)
        env["GUESTINFO_DIR"] = str(gi)
    if case.kind == "aws":
        tree = json.loads(data)
        in_thread(lambda: SettingsService(Host(root)).set_tree(tree, tx="case", source="case"))
        data = b""
        closed = "http://127.0.0.1:9"  # no AWS API: every case must fail before calling one
        env.update({"AWS_EC2_METADATA_SERVICE_ENDPOINT": shared_imds(), "KINDLING_IMDS_BUDGET": "2",
                    "AWS_ENDPOINT_URL_CLOUDFORMATION": closed, "AWS_ENDPOINT_URL_AUTO_SCALING": closed,
                    "AWS_ENDPOINT_URL_STS": closed, "KINDLING_AWS_BUDGET": "1"})
    outside = tmp_path / f"input-{case.id}"
    if where is not None:
        target = root / where.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if case.kind == "provider":
            target.chmod(0o755)
    elif data:
        outside.write_bytes(data)
    for path, name in case.also.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((INPUTS / name).read_bytes())
    full = [a.replace("{input}", str(outside)) for a in [*argv, *case.args]]
    return full, env


def run_kindling(
    argv: list[str], root: Path, env: dict[str, str], *, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The real `kindling` CLI as a child process, with debug logging on."""
    full_env = {**env, "PYTHONPATH": str(REPO), "KINDLING_ROOT": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kindling.cli", *argv, "--log-level", "debug"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        errors="replace",
    )


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=30)
        self.unix_path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def api_request(sock: Path, method: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """One raw HTTP request to the live apiserver's socket; (status, JSON body)."""
    conn = _Unix(sock)
    try:
        conn.putrequest(method, target)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            conn.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # an oversized body is refused unread: the answer is already waiting
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    return resp.status, json.loads(data) if data.strip() else {}


__all__ = [
    "KINDS",
    "Case",
    "api_request",
    "in_thread",
    "live_settings",
    "load_cases",
    "new_root",
    "plant",
    "run_kindling",
    "snapshot",
]
