"""What the units run: one bootstrap command, one bootstrap container, one host container.

A unit instance names its entry (`%i`); the settings are read when it starts, so a
`mode`, `source` or `user-data` changed since the applier wrote the links is honoured.
After a successful `once` run the entry's mode becomes `off` through the settings API
(Bottlerocket's behaviour), so the next boot skips it; `always` runs every boot;
`off` does nothing (the applier removed its link, this is the belt and braces).
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from typing import Any

from kindling.errors import InputError, KindlingError
from kindling.host import Host

__all__ = ["run_bootstrap_command", "run_bootstrap_container", "run_host_container", "settings_entry"]


def settings_entry(host: Host, kind: str, name: str) -> dict[str, Any]:
    """`settings.<kind>.<name>` from the live settings (the API when it is up)."""
    from kindling.api.client import ApiClient
    from kindling.dotted import format_key

    key = format_key(("settings", kind, name))
    from urllib.parse import quote

    resp = ApiClient(host).request("GET", f"/settings?prefix={quote(key, safe='')}")
    if resp.status != 200 or not isinstance(resp.body, dict):
        raise KindlingError(f"{key}: cannot read the settings (HTTP {resp.status})")
    entry = resp.body.get(kind, {}).get(name)
    if not isinstance(entry, dict):
        raise InputError("not set", source=key)
    return entry


def _turn_off(host: Host, kind: str, name: str) -> str:
    """mode once → off after success, committed (and applied) through the API."""
    from kindling.api.client import ApiClient

    client = ApiClient(host)
    tx = f"kindling-{kind}-{os.getpid()}"
    tree = {kind: {name: {"mode": "off"}}}
    resp = client.request("PATCH", f"/settings?tx={tx}", tree)
    if resp.status < 300:
        resp = client.request("POST", f"/tx/commit_and_apply?tx={tx}")
    if resp.status >= 300:
        client.request("DELETE", f"/tx?tx={tx}")
        raise KindlingError(f"settings.{kind}.{name}.mode: could not set it to off (HTTP {resp.status})")
    return host.did("set", f"settings.{kind}.{name}.mode to off")


def _kindling_argv() -> list[str]:
    from kindling.units import kindling_executable

    return [kindling_executable()]


def _echo(result_out: bytes, result_err: bytes) -> None:
    sys.stdout.write(result_out.decode("utf-8", "replace"))
    sys.stderr.write(result_err.decode("utf-8", "replace"))


def run_bootstrap_command(host: Host, name: str) -> list[str]:
    """Run each `apiclient …` of `settings.bootstrap-commands.<name>.commands` in order."""
    entry = settings_entry(host, "bootstrap-commands", name)
    mode = entry.get("mode", "off")
    if mode == "off":
        return [f"bootstrap command {name}: mode off, skipped"]
    env = {"KINDLING_ROOT": str(host.root)} if host.prefixed else None
    done = []
    for index, command in enumerate(entry.get("commands", [])):
        argv = [*_kindling_argv(), *command]  # command[0] is "apiclient" (the model checks it)
        result = host.run(argv, timeout=None, check=False, env=env)
        _echo(result.stdout, result.stderr)
        if result.returncode != 0:
            raise KindlingError(
                f"settings.bootstrap-commands.{name}.commands.{index}: exited {result.returncode}")
        done.append(host.did("run", f"settings.bootstrap-commands.{name}.commands.{index}"))
    if mode == "once":
        done.append(_turn_off(host, "bootstrap-commands", name))
    return done


def _write_user_data(host: Host, kind: str, name: str, entry: dict[str, Any]) -> None:
    from kindling.bootstrap.runtime import state_dir

    folder = state_dir(kind, name)
    host.makedirs(folder, 0o700)
    encoded = entry.get("user-data")
    if encoded is None:
        host.remove(f"{folder}/user-data")
        return
    try:
        data = base64.b64decode(str(encoded), validate=True)
    except (binascii.Error, ValueError):
        raise InputError("not valid base64", source=f"settings.{kind}.{name}.user-data") from None
    host.write_file(f"{folder}/user-data", data, mode=0o600)


def _container(host: Host, kind: str, name: str, entry: dict[str, Any], privileged: bool) -> list[str]:
    from kindling.bootstrap.runtime import (
        ContainerSpec,
        choose_runtime,
        load_runtime_config,
        pull_argv,
        run_argv,
    )

    source = entry.get("source")
    if not isinstance(source, str) or not source:
        raise InputError("not set: a container needs an image", source=f"settings.{kind}.{name}.source")
    config = load_runtime_config(host)
    runtime = choose_runtime(host, config)
    spec = ContainerSpec(kind, name, source, privileged, tuple(entry.get("command", [])))
    _write_user_data(host, kind, name, entry)
    pull = pull_argv(spec, runtime, config)
    if pull is not None:
        listed = host.run(["ctr", *config.ctr_args, "images", "ls", "-q"], read_only=True, check=False)
        if source not in listed.text.split():
            host.run(pull, timeout=None)
    argv = run_argv(host, spec, runtime, config)
    if host.recording:
        host.run(argv)
        return ["would run " + " ".join(argv)]
    if kind == "host-containers":
        os.execvpe(argv[0], argv, dict(host.env))  # the unit's main process: systemd supervises it
    result = host.run(argv, timeout=None, check=False)
    _echo(result.stdout, result.stderr)
    if result.returncode != 0:
        raise KindlingError(f"bootstrap container {name} ({runtime}) exited {result.returncode}")
    return [f"ran bootstrap container {name} with {runtime}"]


def run_bootstrap_container(host: Host, name: str) -> list[str]:
    entry = settings_entry(host, "bootstrap-containers", name)
    mode = entry.get("mode", "off")
    if mode == "off":
        return [f"bootstrap container {name}: mode off, skipped"]
    done = _container(host, "bootstrap-containers", name, entry, privileged=True)
    if mode == "once" and not host.recording:
        done.append(_turn_off(host, "bootstrap-containers", name))
    return done


def run_host_container(host: Host, name: str) -> list[str]:
    """Exec the runtime in the foreground (replaces this process: the unit supervises it)."""
    entry = settings_entry(host, "host-containers", name)
    if not entry.get("enabled", False):
        return [f"host container {name}: not enabled"]
    return _container(host, "host-containers", name, entry, privileged=bool(entry.get("superpowered", False)))
