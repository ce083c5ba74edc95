"""Shared helpers for early-boot-config tests: a seeded datastore and state snapshots."""

from __future__ import annotations

from pathlib import Path

from early_boot.runner import MARKER_PATH
from kindling.api.service import SettingsService
from kindling.host import Host


def seed(host: Host) -> None:
    """A datastore that already holds settings, so "unchanged" means something."""
    SettingsService(host).set_tree(
        {"motd": "before", "kernel": {"sysctl": {"vm.swappiness": "10"}}}, tx="seed", source="test"
    )


def state(host: Host) -> dict[str, bytes]:
    """Every file under the root (datastore bytes included), for byte-for-byte checks."""
    out: dict[str, bytes] = {}
    for p in sorted(Path(host.root).rglob("*")):
        if p.is_file() and not p.name.endswith("-shm"):
            out[str(p.relative_to(host.root))] = p.read_bytes()
    return out


def marker_exists(host: Host) -> bool:
    return host.path(MARKER_PATH).exists()


def live(host: Host) -> dict[str, object]:
    return SettingsService(host).get_settings()
