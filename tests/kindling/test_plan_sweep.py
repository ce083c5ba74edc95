"""`--plan` is a faithful simulation and never acts: the sweep over every command that acts.

Each command runs as a user runs it (a real `kindling` process) with `--plan` against a
snapshot of a node root (the demo node, plus settings that make the AWS services want
to act) while an IMDS emulator and an AWS endpoint stand in for the cloud and log every
request. After each run: the root is byte-for-byte, mode-for-mode as before, neither
stand-in saw a request, and nothing on stdout claims in the past tense that something
happened. A command added to `kindling --help` must be swept here or listed as not
acting, so the sweep cannot silently fall behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.cli import COMMANDS
from kindling.host import Host
from tests.imds_emulator import ImdsEmulator
from tests.platforms.aws.aws_endpoint import AwsEndpoint

KINDLING = str(Path(sys.executable).with_name("kindling"))
DEMO_ROOT = Path(__file__).resolve().parents[2] / "demo" / "root"
INSTANCE_ID = "i-0plansweep000000"

# Every command that acts, as an operator would run it (rc 1 is allowed where this
# root lacks what the command needs, e.g. a link: it must still change nothing).
SWEEP: list[tuple[str, ...]] = [
    ("boot", "--platform", "aws"),
    ("boot", "--platform", "metal"),
    ("early-boot-config", "--platform", "aws"),
    ("early-boot-config", "--platform", "metal"),
    ("netdog", "generate-net-config"),
    ("netdog", "set-hostname", "plan-node-1"),
    ("netdog", "write-resolv-conf"),
    ("netdog", "write-primary-interface-status"),
    ("netdog", "apply"),
    ("growpart",),
    ("gpu", "link-modules"),
    ("gpu", "load-modules"),
    ("kdump", "load"),
    ("kdump", "capture"),
    ("kdump", "plan", "--reserve"),
    ("bootconfig", "generate"),
    ("bootconfig", "reboot-if-required"),
    ("cfsignal",),
    ("cfsignal", "--status", "success"),
    ("warm-pool-wait",),
    ("lifecycle", "complete"),
    ("lifecycle", "complete", "--result", "continue"),
    ("units", "install"),
    ("clean", "--first-boot"),
    ("support-bundle",),
    ("bootstrap", "run-command", "001-plan"),
]
# Commands that never act (they read, print, or serve until stopped).
NOT_ACTING = {
    "analyze": "prints the timeline",
    "apiserver": "serves the API until stopped (no plan to make)",
    "apiclient": "talks to the API server; its writes are the server's (which takes --root)",
    "validate": "checks files offline",
    "status": "reads the timeline and markers",
    "settings": "describes the model",
    "templates": "lists and renders templates to stdout",
}
# Claims that something happened; a plan's output must not contain them.
PAST_TENSE = re.compile(
    r"(?<![./-])\b(wrote|ran|signalled|reloaded|saved|rebooted|hostname set|keys changed|set to|"
    r"\d+ written|loaded the|linked|applied)\b|\"sent\": true"
)


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under `root` with its mode and content hash (or link target)."""
    out: dict[str, tuple[int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                digest = "->" + os.readlink(p)
            elif p.is_file():
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                digest = "dir"
            out[str(p.relative_to(root))] = (st.st_mode, digest)
    return out


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[tuple[ImdsEmulator, AwsEndpoint]]:
    with ImdsEmulator() as imds, AwsEndpoint() as aws:
        imds.set("meta-data/instance-id", INSTANCE_ID)
        imds.identity("us-west-2")
        imds.set("meta-data/autoscaling/target-lifecycle-state", "Warmed:Pending")
        imds.set("user-data", b"[settings]\nmotd = \"from imds\"\n")
        aws.add_key("AKIAPLANSWEEP0000001", "plan-sweep-secret-never-sent-0001")
        aws.add_stack("node-stack", "NodeGroup")
        aws.add_instance(INSTANCE_ID, "node-asg", "Pending:Wait", hook="launch-hook")
        yield imds, aws


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, stand_ins: tuple[ImdsEmulator, AwsEndpoint]) -> Host:
    """The demo node with committed settings that make every AWS service want to act."""
    imds, aws = stand_ins
    root = tmp_path_factory.mktemp("plan-sweep") / "root"
    shutil.copytree(DEMO_ROOT, root, symlinks=True)
    (root / "proc/sys/kernel").mkdir(parents=True, exist_ok=True)
    (root / "proc/sys/kernel/osrelease").write_text("6.1.0-plan\n")
    (root / "proc/vmcore").write_bytes(b"\0" * 64)  # `kdump capture` believes it is in a crash kernel
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
        "AWS_ENDPOINT_URL": aws.url,
        "AWS_ACCESS_KEY_ID": "AKIAPLANSWEEP0000001",
        "AWS_SECRET_ACCESS_KEY": "plan-sweep-secret-never-sent-0001",
        "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={root}/run/no-bus",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    host = Host(root, env=env)
    from kindling.api.service import SettingsService

    SettingsService(host).set_tree({
        "cloudformation": {"should-signal": True, "stack-name": "node-stack", "logical-resource-id": "NodeGroup"},
        "autoscaling": {"should-wait": True, "lifecycle-hook-name": "launch-hook"},
        "bootstrap-commands": {"001-plan": {"commands": [["apiclient", "set", "motd=hi"]], "mode": "once"}},
    }, tx="sweep", source="test")
    # close the datastore as a finished boot does: the WAL is checkpointed away, so a
    # plan's read-only connection has no shared-memory index to touch
    from kindling.api.service import release_thread_stores

    release_thread_stores()
    return host


def run_plan(node: Host, argv: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINDLING, *argv, "--root", str(node.root), "--plan"], capture_output=True,
                          text=True, timeout=60, env=dict(node.env))


@pytest.mark.parametrize("argv", SWEEP, ids=" ".join)
def test_plan_changes_nothing_and_sends_nothing(
    node: Host, stand_ins: tuple[ImdsEmulator, AwsEndpoint], argv: tuple[str, ...]
) -> None:
    imds, aws = stand_ins
    before = snapshot(node.root)
    imds_before, aws_before = len(imds.requests), aws.received
    r = run_plan(node, argv)
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    assert snapshot(node.root) == before, f"{argv} changed the root under --plan"
    assert len(imds.requests) == imds_before, f"{argv} sent IMDS requests under --plan"
    assert aws.received == aws_before, f"{argv} called AWS under --plan"
    claims = [line for line in r.stdout.splitlines() if PAST_TENSE.search(line) and "would" not in line]
    assert not claims, f"{argv} claims, under --plan, that something happened: {claims}"


def test_every_command_is_swept_or_declared_not_acting() -> None:
    swept = {argv[0] for argv in SWEEP}
    missing = set(COMMANDS) - swept - set(NOT_ACTING)
    assert not missing, f"commands neither swept in plan mode nor declared not acting: {sorted(missing)}"


def test_aws_plans_stop_at_the_first_request_and_say_what_follows(node: Host) -> None:
    r = run_plan(node, ("cfsignal",))
    assert r.returncode == 0, r.stderr
    assert "would GET imds meta-data/instance-id" in r.stdout
    assert "would wait for the boot to settle (at most 900s)" in r.stdout
    assert "would signal SUCCESS if the boot settled running, else FAILURE to node-stack/NodeGroup" in r.stdout
    r = run_plan(node, ("warm-pool-wait",))
    assert r.returncode == 0 and "would poll imds meta-data/autoscaling/target-lifecycle-state" in r.stdout
    r = run_plan(node, ("lifecycle", "complete"))
    assert r.returncode == 0 and "would complete lifecycle hook launch-hook" in r.stdout


def test_boot_plan_runs_the_launch_transaction(tmp_path: Path, stand_ins: tuple[ImdsEmulator, AwsEndpoint]) -> None:
    """Later stages see what early-boot-config would have committed (and the files it
    would have written), so the plan predicts the boot: should-signal from user data
    reaches cfsignal, and proxy.env has the size the real run writes."""
    imds, aws = stand_ins
    root = tmp_path / "root"
    shutil.copytree(DEMO_ROOT, root, symlinks=True)
    with (root / "var/lib/kindling/user-data.toml").open("a") as fh:
        fh.write('\n[settings.cloudformation]\nshould-signal = true\nstack-name = "node-stack"\n'
                 'logical-resource-id = "NodeGroup"\n')
    env = {"PATH": os.environ.get("PATH", ""), "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
           "AWS_ENDPOINT_URL": aws.url, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={root}/run/no-bus"}
    plan = subprocess.run([KINDLING, "boot", "--root", str(root), "--platform", "aws", "--plan"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    lines = plan.stdout.splitlines()
    cfsignal = next(line for line in lines if line.startswith("cfsignal "))
    assert "should-signal is false" not in cfsignal and "planned" in cfsignal
    assert "would GET imds user-data (provider ec2-imds" in plan.stdout
    sizes = {int(m) for m in re.findall(r"would write /etc/network/proxy\.env \((\d+) bytes", plan.stdout)}
    assert len(sizes) == 1, plan.stdout
    # each planned file once: a later stage sees what an earlier one would have written
    writes = re.findall(r"would write (\S+) ", plan.stdout)
    assert len(writes) == len(set(writes)) or "bootconfig.data" in "".join(writes)
    real = subprocess.run([KINDLING, "early-boot-config", "--root", str(root), "--platform", "metal"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert real.returncode == 0, real.stderr
    assert (root / "etc/network/proxy.env").stat().st_size == sizes.pop()
