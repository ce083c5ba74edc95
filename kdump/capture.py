"""`kindling kdump capture`: save the crashed kernel's memory, in the crash kernel only.

Runs as `kindling-kdump-capture.service`, started by `systemd.unit=` on the crash
kernel's command line (load.py). Steps, each through the Host:
1. refuse clearly unless /proc/vmcore exists (bottlerocket#2631: outside the crash
   kernel prairiedog failed with "Can't open the dump memory");
2. retention and space: with `settings.kdump.keep` = N (default 3), the oldest dumps
   beyond N-1 will go; the free space after that must hold the estimated dump plus
   a margin, else refuse before deleting or writing anything — never fill the disk;
3. delete those oldest dumps; create `/var/log/kdump/<UTC timestamp>/` (0700);
4. `makedumpfile --dump-dmesg` (a failure here is recorded, not fatal), then
   `makedumpfile -c -d 31` (zlib, dump level 31: no zero, cache, user or free
   pages), as prairiedog runs them; `status` says complete or partial.

The estimate: makedumpfile -d 31 keeps kernel pages only and compresses them; an
eighth of /proc/vmcore (the crashed kernel's RAM) is a generous bound for that, with
at least 64 MiB. The margin is 5 % of the filesystem or 256 MiB, whichever is larger.
"""

from __future__ import annotations

import os
from typing import Any

from kdump.dumps import DUMP_DIR, STATUS_FILE, Dump, dump_name, list_dumps, remove_dump
from kdump.errors import KdumpError, NoSpaceForDump, NotInCrashKernel
from kdump.facts import VMCORE
from kdump.sizing import format_bytes
from kindling.errors import CommandError, HostError
from kindling.host import Host
from kindling.record import field, record

__all__ = ["CaptureResult", "capture_dump", "dump_estimate", "free_bytes"]

DEFAULT_KEEP = 3
MIN_ESTIMATE = 64 << 20
MIN_MARGIN = 256 << 20
DUMP_TIMEOUT = 6 * 3600.0


@record(frozen=True)
class CaptureResult:
    name: str
    path: str
    complete: bool
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "complete": self.complete,
                "removed": self.removed, "notes": self.notes}


def dump_estimate(vmcore_bytes: int) -> int:
    return max(MIN_ESTIMATE, vmcore_bytes // 8)


def free_bytes(host: Host, path: str) -> tuple[int, int]:
    """(free, total) bytes of the filesystem that holds `path` (or its nearest parent)."""
    import psutil

    real = host.path(path)
    while not real.exists() and real != real.parent:
        real = real.parent
    usage = psutil.disk_usage(os.fspath(real))
    return int(usage.free), int(usage.total)


def _keep(settings: dict[str, Any]) -> int:
    keep = (settings.get("kdump") or {}).get("keep")
    return keep if isinstance(keep, int) and not isinstance(keep, bool) and keep > 0 else (
        DEFAULT_KEEP)


def capture_dump(host: Host, settings: dict[str, Any]) -> CaptureResult:
    """Capture one dump (see module docstring); raises before writing when it cannot."""
    if not host.exists(VMCORE):
        raise NotInCrashKernel(
            f"{VMCORE} does not exist: not running in a crash kernel. `kdump capture` runs "
            "in the kdump kernel after a panic (kindling-kdump-capture.service); "
            "see `kindling kdump status` for saved dumps"
        )
    vmcore_real = os.fspath(host.path(VMCORE))
    try:
        vmcore_bytes = os.stat(vmcore_real).st_size
    except OSError as exc:
        raise KdumpError(f"{VMCORE}: cannot stat: {exc.strerror}") from exc
    keep = _keep(settings)
    existing = list_dumps(host)
    doomed: list[Dump] = existing[: max(0, len(existing) - (keep - 1))]
    free, total = free_bytes(host, DUMP_DIR)
    need = dump_estimate(vmcore_bytes)
    margin = max(MIN_MARGIN, total // 20)
    available = free + sum(d.bytes for d in doomed)
    if available - need < margin:
        raise NoSpaceForDump(
            f"{DUMP_DIR}: {format_bytes(available)} free after retention, a dump needs about "
            f"{format_bytes(need)} plus {format_bytes(margin)} kept free: not capturing"
        )
    for dump in doomed:
        remove_dump(host, dump)
    host.makedirs(DUMP_DIR, mode=0o700)
    name = dump_name(host, host.clock.time())
    directory = f"{DUMP_DIR}/{name}"
    host.makedirs(directory, mode=0o700)
    status = f"{directory}/{STATUS_FILE}"
    host.write_file(status, "capturing\n", mode=0o600)
    notes: list[str] = []
    real_dir = os.fspath(host.path(directory))
    try:
        host.run(["makedumpfile", "--dump-dmesg", "--message-level", "4", vmcore_real,
                  f"{real_dir}/dmesg.log"], timeout=600)
    except CommandError as exc:
        notes.append(f"dmesg.log: {exc}")
    try:
        host.run(["makedumpfile", "-c", "--message-level", "4", "-d", "31", vmcore_real,
                  f"{real_dir}/vmcore.dump"], timeout=DUMP_TIMEOUT)
    except CommandError as exc:
        _mark_partial(host, status, f"partial: vmcore.dump: {exc}\n")
        raise KdumpError(f"{directory}/vmcore.dump: {exc} (kept, marked partial)") from exc
    host.write_file(status, "complete\n" if not notes else "complete: " + "; ".join(notes) + "\n",
                    mode=0o600)
    return CaptureResult(name, directory, True, [d.name for d in doomed], notes)


def _mark_partial(host: Host, status: str, text: str) -> None:
    """Record a failed capture even on a full filesystem (the usual reason it failed).

    The atomic write needs a new file's blocks, which a full filesystem refuses; the
    status file already owns a block, so rewriting it in place still fits. Without
    this, the HostError of the status write hid makedumpfile's error.
    """
    try:
        host.write_file(status, text, mode=0o600)
    except HostError:
        host.write_in_place(status, text)

