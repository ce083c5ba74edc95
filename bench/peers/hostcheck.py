"""Proof that a benchmark left the host alone, and of what a boot did.

`host_fingerprint` digests what a sandboxed cloud-init (or Kindling) run could have
touched on the host; compared before and after the runs, part by part, so a change is
named. `written` lists the files a boot wrote under its root, shown beside the timings
so a reader can see both sides did comparable work.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from pathlib import Path

__all__ = ["HOST_PATHS", "host_fingerprint", "written"]

HOST_PATHS = (
    "/etc/cloud", "/var/lib/cloud", "/run/cloud-init", "/var/log/cloud-init.log", "/etc/hostname", "/etc/hosts",
    "/etc/network/interfaces", "/etc/network/interfaces.d", "/etc/systemd/network", "/etc/netplan", "/etc/motd",
    "/etc/sysctl.d", "/etc/passwd", "/etc/group", "/etc/shadow",
)  # fmt: skip


def host_fingerprint(lower: Path) -> dict[str, str]:
    """Digests of what a sandboxed run could have touched: cloud-init's and the network's
    paths on the host, the hostname, mounts or links left behind by this benchmark, and
    the cached root. Compared part by part, so a change is named. (The main namespace's
    own link and mount lists are not digested whole: other work on the machine changes
    them; only entries this benchmark would have made are.)"""
    parts: dict[str, str] = {"hostname": socket.gethostname()}
    h = hashlib.sha256()
    for p in HOST_PATHS:
        path = Path(p)
        entries = [path, *sorted(path.rglob("*"))] if path.is_dir() else [path]
        for e in entries:
            try:
                st = e.lstat()
                h.update(f"{e} {st.st_size} {st.st_mtime_ns} {st.st_mode}".encode())
            except FileNotFoundError:
                h.update(f"{e} absent".encode())
    parts["host paths"] = h.hexdigest()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    parts["our links in the main namespace"] = " ".join(
        sorted(w.rstrip(":").split("@")[0] for w in links.split() if w.rstrip(":").split("@")[0] in SANDBOX_LINKS)
    )
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    parts["our mounts"] = " ".join(sorted(m.split()[4] for m in mounts if "kindling-bench" in m.split()[4]))
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(lower):
        dirnames.sort()
        for name in sorted(filenames):
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            h.update(f"{dirpath}/{name} {st.st_size} {st.st_mtime_ns}".encode())
    parts["cached cloud-init root"] = h.hexdigest()
    return parts


SANDBOX_LINKS = frozenset({"eth0p", "eth1p"})


def written(root: Path, since_ns: int, skip: tuple[str, ...] = ()) -> list[str]:
    """Files under `root` modified after `since_ns`: what a boot did, for the note that
    proves both sides did their work."""
    out = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            full = Path(dirpath) / name
            rel = str(full.relative_to(root))
            if rel.startswith(skip):
                continue
            try:
                if full.lstat().st_mtime_ns >= since_ns:
                    out.append("/" + rel)
            except FileNotFoundError:
                continue
    return sorted(out)
