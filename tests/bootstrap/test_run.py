"""Bootstrap commands and containers run for real: `kindling apiclient` for commands, podman
for containers (an image imported offline from a busybox-static root; no registry), with
the documented modes: once turns itself off after success, always stays, essential
failures exit non-zero. Host containers exec the runtime in the foreground."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kindling.api.service import SettingsService
from tests.templates.conftest import commit, host_of

KINDLING = str(Path(sys.executable).with_name("kindling"))
IMAGE = "localhost/kindling-test-busybox:1"


def kindling(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINDLING, *args, "--root", str(root)], capture_output=True, text=True, check=False,
                          timeout=120)


def test_bootstrap_command_runs_apiclient_and_once_turns_off(root: Path) -> None:
    commit(root, {"bootstrap-commands": {"001-motd": {
        "commands": [["apiclient", "set", "motd=set by a bootstrap command"],
                     ["apiclient", "set", 'kernel.sysctl."vm.max_map_count"=262144']],
        "mode": "once", "essential": True}}})
    done = kindling(root, "bootstrap", "run-command", "001-motd")
    assert done.returncode == 0, done.stderr
    live = SettingsService(host_of(root)).get_settings()
    assert live["motd"] == "set by a bootstrap command"
    assert live["kernel"]["sysctl"]["vm.max_map_count"] == "262144"
    assert live["bootstrap-commands"]["001-motd"]["mode"] == "off"
    assert "set settings.bootstrap-commands.001-motd.mode to off" in done.stdout
    again = kindling(root, "bootstrap", "run-command", "001-motd")
    assert again.returncode == 0 and "mode off, skipped" in again.stdout


def test_a_failing_bootstrap_command_exits_1_and_keeps_its_mode(root: Path) -> None:
    commit(root, {"bootstrap-commands": {"bad": {"commands": [["apiclient", "set", "no-such-key=1"]],
                                                 "mode": "once", "essential": True}}})
    done = kindling(root, "bootstrap", "run-command", "bad")
    assert done.returncode == 1 and "settings.bootstrap-commands.bad.commands.0: exited 1" in done.stderr
    assert SettingsService(host_of(root)).get_settings()["bootstrap-commands"]["bad"]["mode"] == "once"


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """podman with its own storage, and an image imported from a busybox-static root."""
    if not shutil.which("podman") or not Path("/bin/busybox").exists():
        pytest.skip("podman or busybox-static not installed (apt: podman busybox-static)")
    if os.geteuid() != 0:
        pytest.skip("rootful podman needs root")
    base = tmp_path_factory.mktemp("podman")
    rootfs = base / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin/busybox")
    for applet in ("sh", "cat", "echo", "ls", "test", "env", "sleep"):
        os.symlink("busybox", rootfs / "bin" / applet)
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(base / "rootfs.tar"), "."], check=True)
    args = ["--root", str(base / "storage"), "--runroot", str(base / "run"), "--events-backend", "file"]
    subprocess.run(["podman", *args, "import", str(base / "rootfs.tar"), IMAGE], check=True, capture_output=True,
                   timeout=120)
    return args


def _containers_toml(root: Path, podman: list[str]) -> None:
    """This machine drops CAP_SYS_RESOURCE: podman's default rlimits (above our hard
    limits) cannot be set, so the test asks for limits the sandbox allows."""
    (root / "etc/kindling").mkdir(parents=True, exist_ok=True)
    args = ", ".join(f'"{a}"' for a in podman)
    (root / "etc/kindling/containers.toml").write_text(
        f'runtime = "podman"\npodman-args = [{args}]\n'
        'run-args = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]\n')


def test_bootstrap_container_runs_with_podman_sees_user_data_and_rootfs(root: Path, podman: list[str]) -> None:
    _containers_toml(root, podman)
    user_data = base64.b64encode(b"hello from user data\n").decode()
    script = ("cat /.bottlerocket/bootstrap-containers/current/user-data; "
              "cat /.bottlerocket/bootstrap-containers/setup/user-data > /.bottlerocket/rootfs/etc/from-container; "
              "test -c /dev/null && echo devices-ok")
    commit(root, {"bootstrap-containers": {"setup": {
        "source": IMAGE, "mode": "once", "essential": True, "user-data": user_data,
        "command": ["/bin/sh", "-c", script]}}})
    done = kindling(root, "bootstrap", "run-container", "setup")
    assert done.returncode == 0, done.stderr
    assert "hello from user data" in done.stdout and "devices-ok" in done.stdout
    assert (root / "etc/from-container").read_text() == "hello from user data\n"
    stored = root / "var/lib/kindling/bootstrap-containers/setup/user-data"
    assert (stored.stat().st_mode & 0o777) == 0o600
    assert SettingsService(host_of(root)).get_settings()["bootstrap-containers"]["setup"]["mode"] == "off"


def test_always_stays_and_an_essential_failure_exits_1(root: Path, podman: list[str]) -> None:
    _containers_toml(root, podman)
    commit(root, {"bootstrap-containers": {
        "ok": {"source": IMAGE, "mode": "always", "command": ["/bin/sh", "-c", "echo ran"]},
        "fails": {"source": IMAGE, "mode": "once", "essential": True, "command": ["/bin/sh", "-c", "exit 3"]}}})
    for _ in range(2):
        done = kindling(root, "bootstrap", "run-container", "ok")
        assert done.returncode == 0 and "ran" in done.stdout, done.stderr
    live = SettingsService(host_of(root)).get_settings()["bootstrap-containers"]
    assert live["ok"]["mode"] == "always"
    failed = kindling(root, "bootstrap", "run-container", "fails")
    assert failed.returncode == 1 and "bootstrap container fails (podman) exited 3" in failed.stderr
    assert SettingsService(host_of(root)).get_settings()["bootstrap-containers"]["fails"]["mode"] == "once"


def test_host_container_execs_podman_in_the_foreground(root: Path, podman: list[str]) -> None:
    _containers_toml(root, podman)
    data = base64.b64encode(b"ssh-keys-here").decode()
    commit(root, {"host-containers": {"admin": {
        "source": IMAGE, "enabled": True, "superpowered": False, "user-data": data,
        "command": ["/bin/sh", "-c", "cat /.bottlerocket/host-containers/current/user-data; "
                    "test -e /.bottlerocket/rootfs || echo no-rootfs"]}}})
    plan = kindling(root, "bootstrap", "host-container", "admin", "--plan")
    assert plan.returncode == 0 and plan.stdout.startswith("would run podman ")
    done = kindling(root, "bootstrap", "host-container", "admin")
    assert done.returncode == 0, done.stderr
    assert "ssh-keys-here" in done.stdout and "no-rootfs" in done.stdout


def test_ecs_config_is_read_by_a_real_env_file_reader(root: Path, podman: list[str]) -> None:
    """podman's --env-file reads KEY=value literally, as ecs-init hands the file to the agent."""
    commit(root, {"ecs": {"cluster": "my-cluster", "instance-attributes": {"a1": "foo bar", "a2": "bar"}}})
    done = subprocess.run(["podman", *podman, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                           "--ulimit", "nproc=1024:1024", "--env-file", str(root / "etc/ecs/ecs.config"), IMAGE,
                           "/bin/env"], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert env["ECS_CLUSTER"] == "my-cluster"
    assert env["ECS_INSTANCE_ATTRIBUTES"] == '{"a1":"foo bar","a2":"bar"}'
