"""Bootstrap commands/containers and host containers as unit instances: the files the
appliers write, their order and essential-ness, checked with systemd-analyze verify."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kindling.bootstrap.runtime import ContainerSpec, RuntimeConfig, parse_runtime_config, run_argv
from kindling.errors import InputError
from kindling.host import Host
from tests.templates.conftest import commit, outcomes

KINDLING = str(Path(sys.executable).with_name("kindling"))
UNITS = "etc/systemd/system"

SETTINGS: dict[str, Any] = {
    "bootstrap-commands": {
        "010-motd": {"commands": [["apiclient", "set", "motd=from bootstrap"]], "mode": "once", "essential": True},
        "001-first": {"commands": [["apiclient", "set", "kernel.sysctl.vm.swappiness=10"]], "mode": "always"},
        "050-off": {"commands": [["apiclient", "get"]], "mode": "off"},
    },
    "bootstrap-containers": {
        "setup": {"source": "localhost/setup:1", "mode": "always", "essential": True},
        "another": {"source": "localhost/other:1", "mode": "once"},
    },
    "host-containers": {
        "admin": {"source": "localhost/admin:1", "enabled": True, "superpowered": True},
        "control": {"source": "localhost/control:1", "enabled": False},
    },
}


def _listing(root: Path) -> list[str]:
    base = root / UNITS
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() or p.is_symlink())


def test_appliers_link_instances_in_name_order(root: Path) -> None:
    report = commit(root, SETTINGS)
    got = outcomes(report)
    assert got["bootstrap-commands"][0] and got["bootstrap-containers"][0] and got["host-containers"][0], got
    assert _listing(root) == [
        "kindling-bootstrap-command@010-motd.service.d/10-kindling-order.conf",
        "kindling-bootstrap-container@setup.service.d/10-kindling-order.conf",
        "kindling-configured.target.requires/kindling-bootstrap-command@010-motd.service",
        "kindling-configured.target.requires/kindling-bootstrap-container@setup.service",
        "kindling-configured.target.wants/kindling-bootstrap-command@001-first.service",
        "kindling-configured.target.wants/kindling-bootstrap-container@another.service",
        "multi-user.target.wants/kindling-host-container@admin.service",
    ]
    link = root / UNITS / "kindling-configured.target.wants/kindling-bootstrap-command@001-first.service"
    assert os.readlink(link) == "/etc/systemd/system/kindling-bootstrap-command@.service"
    drop = (root / UNITS / "kindling-bootstrap-command@010-motd.service.d/10-kindling-order.conf").read_text()
    assert "After=kindling-bootstrap-command@001-first.service" in drop
    # turning one off and removing another removes exactly their files
    commit(root, {"bootstrap-commands": {"001-first": {"mode": "off"}},
                  "host-containers": {"admin": {"enabled": False}}})
    listing = _listing(root)
    assert not any("001-first" in p or "admin" in p for p in listing), listing
    assert "kindling-configured.target.requires/kindling-bootstrap-command@010-motd.service" in listing
    assert "kindling-bootstrap-command@010-motd.service.d/10-kindling-order.conf" not in listing  # first now


def _unit_after(path: Path) -> list[str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return " ".join(parser.get("Unit", "After", fallback="").split()).split()


def test_units_verify_and_order_before_the_orchestrator(root: Path, tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    from kindling.units import install_units

    commit(root, SETTINGS)
    install_units(Host(root), executable=KINDLING)
    unit_dir = root / UNITS
    for stand_in in ("kubelet.service", "ecs.service", "containerd.service"):
        (unit_dir / stand_in).write_text("[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n")
    instances = ["kindling-bootstrap-command@001-first.service", "kindling-bootstrap-command@010-motd.service",
                 "kindling-bootstrap-container@another.service", "kindling-bootstrap-container@setup.service",
                 "kindling-host-container@admin.service", "kindling-configured.target"]
    done = subprocess.run(["systemd-analyze", "verify", *instances], cwd=unit_dir, capture_output=True, text=True,
                          env={"SYSTEMD_UNIT_PATH": f"{unit_dir}:", "PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    # ordering: each instance after the previous name; containers after the commands target;
    # everything before kindling-configured.target and the orchestrators
    command_t = (unit_dir / "kindling-bootstrap-command@.service").read_text()
    container_t = (unit_dir / "kindling-bootstrap-container@.service").read_text()
    for text in (command_t, container_t):
        before = next(line for line in text.splitlines() if line.startswith("Before="))
        assert {"kindling-configured.target", "kubelet.service", "ecs.service"} <= set(before[7:].split())
    assert "kindling-bootstrap-commands.target" in command_t.split("Before=")[1].splitlines()[0]
    assert "kindling-bootstrap-commands.target" in _unit_after(unit_dir / "kindling-bootstrap-container@.service")
    assert _unit_after(unit_dir / "kindling-bootstrap-command@010-motd.service.d/10-kindling-order.conf") == [
        "kindling-bootstrap-command@001-first.service"]
    assert _unit_after(unit_dir / "kindling-bootstrap-container@setup.service.d/10-kindling-order.conf") == [
        "kindling-bootstrap-container@another.service"]
    kubelet_dropin = (Path(__file__).parents[2] / "kindling/templates/shipped/kubelet-dropin.conf.j2").read_text()
    assert "Requires=kindling-configured.target" in kubelet_dropin


def test_systemd_is_reloaded_and_instances_queued_while_booting(root: Path, tmp_path: Path) -> None:
    (root / "run/systemd/system").mkdir(parents=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "systemctl.log"
    (bindir / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> {log}\n[ "$1" = is-active ] && echo activating\n'
                                      "exit 0\n")
    (bindir / "systemctl").chmod(0o755)
    commit(root, {"bootstrap-commands": SETTINGS["bootstrap-commands"]}, {"PATH": f"{bindir}:/usr/bin:/bin"})
    assert log.read_text().splitlines() == [
        "daemon-reload", "is-active kindling-configured.target",
        "start --no-block kindling-bootstrap-command@001-first.service kindling-bootstrap-command@010-motd.service",
    ]


def test_a_bootstrap_container_without_a_source_is_refused_naming_the_key(root: Path) -> None:
    ok, detail = outcomes(commit(root, {"bootstrap-containers": {"nosrc": {"mode": "once"}}}))["bootstrap-containers"]
    assert not ok
    assert detail == "settings.bootstrap-containers.nosrc.source: not set: a bootstrap container needs an image"
    assert not (root / UNITS).exists()
    done = subprocess.run([KINDLING, "bootstrap", "run-container", "nosrc", "--root", str(root)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "settings.bootstrap-containers.nosrc.source: not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_runtime_argv_are_lists_for_podman_and_ctr(root: Path) -> None:
    host = Host(root)
    command = ("/bin/sh", "-c", "echo; rm -rf x")
    spec = ContainerSpec("bootstrap-containers", "setup", "localhost/setup:1", True, command)
    podman = run_argv(host, spec, "podman", RuntimeConfig(run_args=("--ulimit", "nofile=1024:1024")))
    assert podman[:4] == ["podman", "run", "--rm", "--replace"]
    own = f"{root}/var/lib/kindling/bootstrap-containers/setup"
    assert f"{own}:/.bottlerocket/bootstrap-containers/current:rw" in podman
    assert f"{root}:/.bottlerocket/rootfs:rw" in podman
    assert podman[-4:] == ["localhost/setup:1", "/bin/sh", "-c", "echo; rm -rf x"]  # one argument, no shell
    ctr = run_argv(host, spec, "ctr", RuntimeConfig(ctr_args=("--namespace", "kindling")))
    assert ctr[:6] == ["ctr", "--namespace", "kindling", "run", "--rm", "--net-host"]
    assert ctr[-5:-3] == ["localhost/setup:1", "kindling-bootstrap-setup"]
    plain = run_argv(host, ContainerSpec("host-containers", "ctl", "img", False), "podman", RuntimeConfig())
    assert "--privileged" not in plain and not any("rootfs" in a for a in plain)


def test_runtime_config_is_checked() -> None:
    assert parse_runtime_config('runtime = "ctr"\nctr-args = ["--namespace", "k"]').ctr_args == ("--namespace", "k")
    for bad, message in (('runtime = "docker"', "one of auto, podman, ctr"), ('shell = "x"', "unknown key"),
                         ('run-args = "--privileged"', "list of single-line strings")):
        with pytest.raises(InputError, match=message):
            parse_runtime_config(bad)
