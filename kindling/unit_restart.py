"""Restart only the units whose configuration changed (Bottlerocket's restart-commands).

Bottlerocket's settings-applier runs each affected service's `restart-commands`, which
are `systemctl try-reload-or-restart <unit>`: a unit that is not running stays stopped,
one that is running picks the new files up. Kindling does the same through the Host
runner, so `--plan` records the command instead of running it. Units are touched only
where systemd manages the root (`/run/systemd/system` exists beneath it, as
sd_booted(3) checks): a root prefix that is a test tree or the demo node has none, so
this machine's own daemons are never restarted for a tree that is not theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

from kindling.host import Host

__all__ = ["restart_units", "systemd_runs"]


def systemd_runs(host: Host) -> bool:
    """True when systemd is PID 1 for this root (sd_booted: `/run/systemd/system`)."""
    return host.path("/run/systemd/system").is_dir()


def restart_units(host: Host, units: Sequence[str]) -> list[str]:
    """`systemctl try-reload-or-restart --no-block` each unit; what was done, for reports."""
    if not units or not systemd_runs(host):
        return []
    done: list[str] = []
    for unit in units:
        host.run(["systemctl", "try-reload-or-restart", "--no-block", unit], timeout=30)
        done.append(f"reloaded {unit}")
    return done
