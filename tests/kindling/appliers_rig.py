"""A node in miniature for the applier tests: a temp root with the kernel files the
appliers write (`/proc/sys/...`, securityfs lockdown), a stand-in `systemctl` that
records what it was asked, and the CLI run as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kindling.host import FakeClock, Host

REPO = Path(__file__).resolve().parents[2]

PROC_FILES = {
    "proc/sys/kernel/hostname": "localhost\n",
    "proc/sys/vm/swappiness": "60\n",
    "proc/sys/vm/max_map_count": "65530\n",
    "proc/sys/net/ipv4/ip_forward": "0\n",
    "proc/sys/net/ipv4/conf/eth0/rp_filter": "1\n",
    "proc/sys/net/ipv4/conf/eth1/rp_filter": "1\n",
    "sys/kernel/security/lockdown": "[none] integrity confidentiality\n",
}


def plant_node(root: Path) -> Path:
    for rel, text in PROC_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def systemd_root(root: Path, bindir: Path) -> Path:
    """Mark `root` as systemd-managed and put a recording `systemctl` first on PATH.

    Returns the log file: one line per call, the arguments as given."""
    (root / "run/systemd/system").mkdir(parents=True, exist_ok=True)
    bindir.mkdir(parents=True, exist_ok=True)
    log = bindir / "systemctl.log"
    stub = bindir / "systemctl"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    stub.chmod(0o755)
    return log


def host_with_path(root: Path, bindir: Path | None = None) -> Host:
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if bindir is not None:
        path = f"{bindir}:{path}"
    return Host(root, clock=FakeClock(), env={"PATH": path})


def kindling(*args: str, root: Path, env: dict[str, str] | None = None,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    argv = [sys.executable, "-m", "kindling.cli", *args, "--root", str(root)]
    return subprocess.run(argv, capture_output=True, text=True, input=stdin, env=full_env, timeout=120)


def live(root: Path) -> dict[str, Any]:
    out = kindling("apiclient", "get", root=root)
    assert out.returncode == 0, out.stderr
    settings: dict[str, Any] = json.loads(out.stdout).get("settings", {})
    return settings


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` except the datastore (its WAL may be checkpointed)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "datastore" not in p.name}
