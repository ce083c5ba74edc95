"""Secret canary for the AWS signalling commands (issue 10, item 4): cfsignal,
warm-pool-wait and lifecycle complete sign their calls with `settings.aws.credentials`
(or the instance profile from IMDS). With `--log-level debug`, neither the stored
(base64) credentials, nor the secret key, nor a session token may appear in any
output, error or file other than the datastore — on success and on refusal.

Rigs are the AWS suite's own (tests/platforms/aws): the IMDS emulator, the SigV4
verifying endpoint, a real dbus-daemon with the stand-in systemd.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.api.service import SettingsService
from kindling.host import Host
from tests.bad_inputs.corpus import run_kindling
from tests.imds_emulator import ImdsEmulator
from tests.platforms.aws.aws_endpoint import AwsEndpoint
from tests.platforms.aws.conftest import INSTANCE_ID, ROLE_KEY, ROLE_SECRET, ROLE_TOKEN, rig_env
from tests.platforms.aws.dbus_rig import DbusDaemon, FakeSystemd
from tests.reliability.test_secret_canary import _files_with_canary, is_sdk_file

KEY_ID = "AKIA" + secrets.token_hex(8).upper()
SECRET_KEY = "CANARY" + secrets.token_hex(16)
CREDENTIALS = base64.b64encode(
    f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET_KEY}\n".encode()
).decode()
FORMS = (SECRET_KEY, CREDENTIALS, ROLE_SECRET, ROLE_TOKEN)

SETTINGS = {
    "aws": {"credentials": CREDENTIALS, "region": "us-west-2"},
    "cloudformation": {"should-signal": True, "stack-name": "node-stack", "logical-resource-id": "NodeGroup"},
    "autoscaling": {"should-wait": True, "lifecycle-hook-name": "launch-hook"},
}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[ImdsEmulator, AwsEndpoint, FakeSystemd]]:
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed (apt: dbus-daemon)")
    (tmp_path / "dbus").mkdir()
    daemon = DbusDaemon(tmp_path / "dbus")
    systemd = FakeSystemd(daemon.address, state="running")
    try:
        with ImdsEmulator() as imds, AwsEndpoint() as endpoint:
            imds.set("meta-data/instance-id", INSTANCE_ID)
            imds.identity("us-west-2")
            imds.set("meta-data/autoscaling/target-lifecycle-state", "InService")
            imds.set("meta-data/iam/security-credentials/", "node-role\n")
            imds.set("meta-data/iam/security-credentials/node-role", json.dumps({
                "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": ROLE_KEY, "SecretAccessKey": ROLE_SECRET,
                "Token": ROLE_TOKEN, "Expiration": "2099-01-01T00:00:00Z"}))
            endpoint.add_key(KEY_ID, SECRET_KEY)
            endpoint.add_key(ROLE_KEY, ROLE_SECRET, ROLE_TOKEN)
            endpoint.add_stack("node-stack", "NodeGroup")
            endpoint.add_instance(INSTANCE_ID, "node-asg", "Pending:Wait", hook="launch-hook")
            yield imds, endpoint, systemd
    finally:
        systemd.stop()
        daemon.stop()


def _env(rig: tuple[ImdsEmulator, AwsEndpoint, FakeSystemd], tmp_path: Path) -> dict[str, str]:
    """The AWS suite's environment (endpoints, bus, short budgets), debug logging added by run_kindling."""
    imds, endpoint, systemd = rig
    env = rig_env(imds, endpoint, systemd.address)
    return {k: v for k, v in env.items() if k != "PYTHONPATH"}


def _root(tmp_path: Path, tree: dict[str, object]) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    SettingsService(Host(root)).set_tree(tree, tx="canary", source="test")
    return root


COMMANDS = [
    ["cfsignal", "--json"],
    ["warm-pool-wait", "--json"],
    ["lifecycle", "complete", "--result", "continue"],
    ["cfsignal", "--plan", "--status", "failure"],
    ["boot", "--plan", "--platform", "aws"],
]


def _check(outputs: list[tuple[str, str]], root: Path) -> None:
    leaks = {cmd: [f[:10] for f in FORMS if f in text] for cmd, text in outputs}
    assert {k: v for k, v in leaks.items() if v} == {}
    assert _files_with_canary_aws(root) == []


def _files_with_canary_aws(root: Path) -> list[str]:
    found = set(_files_with_canary(root))  # the base forms of the other suite, if any
    for p in root.rglob("*"):
        if p.is_file() and not p.name.startswith("datastore.sqlite3") and not is_sdk_file(root, p):
            data = p.read_bytes()
            if any(f.encode() in data for f in FORMS):
                found.add(str(p.relative_to(root)))
    return sorted(found)


def test_aws_commands_never_show_the_credentials(rig: tuple[ImdsEmulator, AwsEndpoint, FakeSystemd],
                                                 tmp_path: Path) -> None:
    _, endpoint, _ = rig
    root = _root(tmp_path, SETTINGS)
    env = _env(rig, tmp_path)
    outputs = []
    codes = {}
    for argv in COMMANDS:
        r = run_kindling(argv, root, env)
        codes[" ".join(argv)] = r.returncode
        outputs.append((" ".join(argv), r.stdout + r.stderr))
    assert codes["cfsignal --json"] == 0, outputs[0][1]
    assert codes["lifecycle complete --result continue"] == 0, outputs[2][1]
    assert "SignalResource" in endpoint.actions()
    _check(outputs, root)
    markers = list((root / "var/lib/kindling").glob("*.ran"))  # (item 5: modes of AWS markers too)
    assert markers and all(m.stat().st_mode & 0o022 == 0 for m in markers)


def test_refusals_never_show_the_credentials(rig: tuple[ImdsEmulator, AwsEndpoint, FakeSystemd],
                                             tmp_path: Path) -> None:
    _, endpoint, _ = rig
    env = _env(rig, tmp_path)
    wrong = base64.b64encode(f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = "
                             f"{SECRET_KEY}x\n".encode()).decode()
    outputs = []
    # the endpoint refuses the signature (secret differs by one character)
    root = _root(tmp_path, {**SETTINGS, "aws": {"credentials": wrong, "region": "us-west-2"}})
    r = run_kindling(["cfsignal"], root, env)
    assert r.returncode == 1
    outputs.append(("cfsignal wrong secret", r.stdout + r.stderr))
    # the API refuses the call
    endpoint.fail("SignalResource", 403, "AccessDenied")
    root2 = tmp_path / "second"
    root2.mkdir()
    SettingsService(Host(root2)).set_tree(SETTINGS, tx="canary", source="test")
    r = run_kindling(["cfsignal"], root2, env)
    assert r.returncode == 1 and "AccessDenied" in r.stderr
    outputs.append(("cfsignal refused", r.stdout + r.stderr))
    # credentials that are not an INI file
    root3 = tmp_path / "third"
    root3.mkdir()
    bad = base64.b64encode(f"not ini {SECRET_KEY}".encode()).decode()
    SettingsService(Host(root3)).set_tree({**SETTINGS, "aws": {"credentials": bad}}, tx="c", source="test")
    r = run_kindling(["cfsignal"], root3, env)
    assert r.returncode == 1 and "settings.aws.credentials" in r.stderr
    outputs.append(("cfsignal bad ini", r.stdout + r.stderr))
    leaks = {cmd: [f[:10] for f in (*FORMS, wrong, bad) if f in text] for cmd, text in outputs}
    assert {k: v for k, v in leaks.items() if v} == {}
    for r_ in (root, root2, root3):
        assert _files_with_canary_aws(r_) == []


def test_instance_profile_secrets_never_shown(rig: tuple[ImdsEmulator, AwsEndpoint, FakeSystemd],
                                             tmp_path: Path) -> None:
    root = _root(tmp_path, {k: v for k, v in SETTINGS.items() if k != "aws"})
    env = _env(rig, tmp_path)
    outputs = []
    for argv in (["cfsignal", "--json"], ["lifecycle", "complete", "--result", "abandon"]):
        r = run_kindling(argv, root, env)
        assert r.returncode == 0, r.stderr
        outputs.append((" ".join(argv), r.stdout + r.stderr))
    _check(outputs, root)
