"""The appliers: settings → instances of the shipped template units (DESIGN §10).

    bootstrap-commands    kindling-bootstrap-command@<name>.service, in name order
    bootstrap-containers  kindling-bootstrap-container@<name>.service, in name order, after
                          every command (kindling-bootstrap-commands.target sits between)
    host-containers       kindling-host-container@<name>.service, long-running

A bootstrap entry with mode once or always is linked into
`kindling-configured.target.requires/` when essential (its failure fails the target, so
the orchestrator, ordered after it, does not start) or `.wants/` otherwise; a drop-in
orders it after the previous name. Mode off (or a removed entry) removes its files.
Where systemd runs, the applier reloads it; before `kindling-configured.target` is
reached (first boot) it also queues the new instances, which the running boot
transaction would not otherwise contain. Host containers are linked into
`multi-user.target.wants/` and started, restarted or stopped as their settings change.
"""

from __future__ import annotations

import json
from typing import Any

from kindling.appliers import Applier
from kindling.errors import InputError
from kindling.host import Host

__all__ = ["BOOTSTRAP_COMMANDS", "BOOTSTRAP_CONTAINERS", "HOST_CONTAINERS", "plan_bootstrap"]

UNIT_DIR = "/etc/systemd/system"
TARGET = "kindling-configured.target"
ORDER_DROPIN = "10-kindling-order.conf"
_TEMPLATES = {
    "bootstrap-commands": "kindling-bootstrap-command@",
    "bootstrap-containers": "kindling-bootstrap-container@",
    "host-containers": "kindling-host-container@",
}


def _unit(kind: str, name: str) -> str:
    return f"{_TEMPLATES[kind]}{name}.service"


def _active(settings: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    entries = settings.get(kind) or {}
    return [(n, e) for n, e in sorted(entries.items()) if isinstance(e, dict) and e.get("mode", "off") != "off"]


def plan_bootstrap(settings: dict[str, Any], kind: str) -> dict[str, str | None]:
    """path -> file text (None: a link to the template) for every active entry of `kind`."""
    files: dict[str, str | None] = {}
    previous: str | None = None
    for name, entry in _active(settings, kind):
        if kind == "bootstrap-containers" and not entry.get("source"):
            raise InputError("not set: a bootstrap container needs an image",
                             source=f"settings.bootstrap-containers.{name}.source")
        unit = _unit(kind, name)
        where = "requires" if entry.get("essential", False) else "wants"
        files[f"{UNIT_DIR}/{TARGET}.{where}/{unit}"] = None
        if previous is not None:
            files[f"{UNIT_DIR}/{unit}.d/{ORDER_DROPIN}"] = (
                f"# Written by Kindling: {kind} run in name order.\n[Unit]\nAfter={previous}\n")
        previous = unit
    return files


def _ours(host: Host, kind: str) -> list[str]:
    """Every instance file of `kind` present now (links in the target dirs, drop-ins)."""
    prefix = _TEMPLATES[kind]
    found = []
    wants_dirs = (f"{TARGET}.requires", f"{TARGET}.wants", "multi-user.target.wants")
    for sub in wants_dirs:
        found += [f"{UNIT_DIR}/{sub}/{f}" for f in host.listdir(f"{UNIT_DIR}/{sub}") if f.startswith(prefix)]
    for entry in host.listdir(UNIT_DIR):
        if entry.startswith(prefix) and entry.endswith(".service.d"):
            drop = f"{UNIT_DIR}/{entry}/{ORDER_DROPIN}"
            if host.exists(drop):
                found.append(drop)
    return found


def _write(host: Host, kind: str, files: dict[str, str | None]) -> list[str]:
    done = []
    template = f"{UNIT_DIR}/{_TEMPLATES[kind]}.service"
    for path, text in sorted(files.items()):
        changed = host.symlink(template, path) if text is None else host.write_file(path, text)
        if changed:
            done.append(f"{'linked' if text is None else 'wrote'} {path}")
    for path in _ours(host, kind):
        if path not in files and host.remove(path):
            done.append(f"removed {path}")
    return done


def _systemd(host: Host) -> bool:
    return host.exists("/run/systemd/system")


def _apply_bootstrap(kind: str, host: Host, settings: dict[str, Any]) -> list[str]:
    done = _write(host, kind, plan_bootstrap(settings, kind))
    if done and _systemd(host):
        host.run(["systemctl", "daemon-reload"])
        state = host.run(["systemctl", "is-active", TARGET], read_only=True, check=False)
        if state.text.strip() != "active":  # still booting: queue them into this boot
            units = [_unit(kind, n) for n, _ in _active(settings, kind)]
            if units:
                host.run(["systemctl", "start", "--no-block", *units])
                done.append("queued " + " ".join(units))
    return done


def _apply_commands(host: Host, settings: dict[str, Any]) -> list[str]:
    return _apply_bootstrap("bootstrap-commands", host, settings)


def _apply_containers(host: Host, settings: dict[str, Any]) -> list[str]:
    return _apply_bootstrap("bootstrap-containers", host, settings)


def _digest(entry: dict[str, Any]) -> str:
    try:  # the builtin module: hashlib would load OpenSSL (~2-3 ms) for one digest
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:  # Python 3.12 renamed it _sha2
        from hashlib import sha256
    digest: str = sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
    return digest


def _apply_host_containers(host: Host, settings: dict[str, Any]) -> list[str]:
    from kindling.bootstrap.runtime import state_dir

    kind = "host-containers"
    entries = {n: e for n, e in sorted((settings.get(kind) or {}).items()) if isinstance(e, dict)}
    enabled = {n: e for n, e in entries.items() if e.get("enabled", False)}
    for name, entry in enabled.items():
        if not entry.get("source"):
            raise InputError("not set: a host container needs an image",
                             source=f"settings.host-containers.{name}.source")
    files: dict[str, str | None] = {f"{UNIT_DIR}/multi-user.target.wants/{_unit(kind, n)}": None for n in enabled}
    before = set(_ours(host, kind))
    done = _write(host, kind, files)
    restart, stop = [], [p.rsplit("/", 1)[1] for p in before if p not in files]
    for name, entry in enabled.items():
        stamp = f"{state_dir(kind, name)}/settings.sha256"
        host.makedirs(state_dir(kind, name), 0o700)
        if host.write_file(stamp, _digest(entry) + "\n", mode=0o600):
            restart.append(_unit(kind, name))
    if _systemd(host) and (done or restart or stop):
        host.run(["systemctl", "daemon-reload"])
        if stop:
            host.run(["systemctl", "stop", "--no-block", *stop])
        if restart:
            host.run(["systemctl", "restart", "--no-block", *restart])
            done.append("restarted " + " ".join(restart))
    return done


def _outputs(kind: str) -> tuple[str, ...]:
    unit = f"{_TEMPLATES[kind]}*.service"
    return (f"{UNIT_DIR}/{TARGET}.*/{unit}", f"{UNIT_DIR}/multi-user.target.wants/{unit}",
            f"{UNIT_DIR}/{unit}.d/{ORDER_DROPIN}")


BOOTSTRAP_COMMANDS = Applier("bootstrap-commands", ("bootstrap-commands",), _apply_commands,
                             outputs=_outputs("bootstrap-commands"))
BOOTSTRAP_CONTAINERS = Applier("bootstrap-containers", ("bootstrap-containers",), _apply_containers,
                               outputs=_outputs("bootstrap-containers"))
HOST_CONTAINERS = Applier("host-containers", ("host-containers",), _apply_host_containers,
                          outputs=_outputs("host-containers"))
