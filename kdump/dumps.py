"""Crash dumps on disk: `/var/log/kdump/<UTC timestamp>/` (DESIGN §3), listing and retention.

Each dump directory holds `dmesg.log`, `vmcore.dump` and a `status` file written
before makedumpfile starts (`capturing`) and replaced when it ends (`complete`, or
`partial: …`). A crash kernel that dies mid-capture (power loss, the `panic=10`
reboot) leaves `capturing`, which `status` reports as partial: a half-written dump
is never mistaken for a good one. Only directories named like our timestamps are
ever listed or deleted.
"""

from __future__ import annotations

import os
import re
import time

from kindling.host import Host
from kindling.record import record

__all__ = [
    "DUMP_DIR",
    "STATUS_FILE",
    "Dump",
    "dump_name",
    "list_dumps",
    "remove_dump",
]

DUMP_DIR = "/var/log/kdump"
STATUS_FILE = "status"
_NAME = re.compile(r"[0-9]{8}T[0-9]{6}Z(?:-[0-9]+)?")


@record(frozen=True)
class Dump:
    name: str
    path: str
    status: str  # complete | partial | capturing (interrupted)
    detail: str
    files: dict[str, int]

    @property
    def bytes(self) -> int:
        return sum(self.files.values())

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "path": self.path, "status": self.status,
                "detail": self.detail, "bytes": self.bytes, "files": dict(self.files)}


def dump_name(host: Host, now: float) -> str:
    """`20261122T004155Z`, with `-N` when a dump of that second already exists."""
    base = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    name, n = base, 0
    while host.exists(f"{DUMP_DIR}/{name}"):
        n += 1
        name = f"{base}-{n}"
    return name


def _read_dump(host: Host, name: str) -> Dump:
    path = f"{DUMP_DIR}/{name}"
    files: dict[str, int] = {}
    for entry in host.listdir(path):
        real = host.path(f"{path}/{entry}")
        if real.is_file() and entry != STATUS_FILE:
            files[entry] = real.stat().st_size
    raw = (host.read_optional(f"{path}/{STATUS_FILE}") or "").strip()
    state, _, detail = raw.partition(":")
    if state == "complete":
        status = "complete"
    elif state == "partial":
        status = "partial"
    else:
        status, detail = "partial", "capture was interrupted" if raw else "no status file"
    return Dump(name, path, status, detail.strip(), files)


def list_dumps(host: Host) -> list[Dump]:
    """Our dumps, oldest first."""
    names = [n for n in host.listdir(DUMP_DIR) if _NAME.fullmatch(n)
             and host.path(f"{DUMP_DIR}/{n}").is_dir()]
    return [_read_dump(host, n) for n in sorted(names)]


def remove_dump(host: Host, dump: Dump) -> None:
    """Delete one dump directory through the Host runner (recorded under --plan)."""
    if not _NAME.fullmatch(dump.name):
        raise ValueError(dump.name)
    real = os.fspath(host.path(dump.path))
    host.run(["rm", "-rf", "--one-file-system", "--", real], timeout=300)
