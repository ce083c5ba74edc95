"""Which whole disks the GPT scan would open, and whether udev can answer instead.

Apart from `find.py` so the boot stage can tell "nothing to search" before it imports
the GPT reader (a node or a test root without disks pays nothing for growpart).
"""

from __future__ import annotations

from kindling.host import Host

__all__ = ["DEFAULT_LABELS", "candidate_disks", "not_found", "udev_has_data"]

DEFAULT_LABELS = ("KINDLING-DATA", "BOTTLEROCKET-DATA")
_SKIP_PREFIXES = ("ram", "zram", "sr", "fd")  # no GPT, or opening has side effects
SCANNED_DISKS = "GPTs of every disk"


def udev_has_data(host: Host) -> bool:
    """Only ask udev when it can answer: importing pyudev and enumerating costs about
    50 ms (more under load), wasted on a boot where udevd has not run. udevd keeps its
    database in /run/udev/data; umockdev (tests, RIGS.md) serves libudev one of its
    own and says so with UMOCKDEV_DIR. Never under --root: udev describes this
    machine, not an image tree."""
    if host.prefixed:
        return False
    return host.exists("/run/udev/data") or "UMOCKDEV_DIR" in host.env


def candidate_disks(host: Host) -> list[str]:
    """Names in /sys/class/block that are whole disks which may hold a GPT."""
    return [name for name in host.listdir("/sys/class/block")
            if not host.exists(f"/sys/class/block/{name}/partition") and not name.startswith(_SKIP_PREFIXES)]


def not_found(labels: tuple[str, ...], scanned: str) -> str:
    return f"no GPT partition named {' or '.join(labels)} (searched the {scanned})"
