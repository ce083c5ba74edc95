"""Secret canary (issue 10, item 4): one unique secret, planted where users put secrets
(`settings.aws.credentials`, a container's `user-data`, through local user data, guestinfo
and IMDS), must show up nowhere but the datastore and an explicit `apiclient get`.

Every command runs as the real CLI with `--log-level debug`; its stdout, stderr
(logs and errors) and every file under the root are searched for the canary in both
its stored (base64) and decoded forms.

`apiclient get` with no prefix prints the whole tree, credentials included, as
Bottlerocket's apiclient does (the API is root-only): it counts as an explicit get.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bad_inputs.corpus import REPO, new_root, run_kindling
from tests.imds_emulator import ImdsEmulator
from tests.platforms.vmware.test_guestinfo import RPCTOOL

RAW = f"CANARY{secrets.token_hex(12)}"
SECRET = base64.b64encode(f"[default]\naws_secret_access_key={RAW}\n".encode()).decode()
FORMS = (RAW, SECRET)

USER_DATA = f"""[settings]
motd = "canary test"
[settings.aws]
credentials = "{SECRET}"
region = "us-west-2"
[settings.network]
hostname = "node-1"
https-proxy = "http://proxy.example:3128"
[settings.bootstrap-containers.boot]
source = "public.ecr.aws/x/y:1"
mode = "once"
user-data = "{SECRET}"
"""

# Commands that read or act on the committed settings; none may show the secret.
AFTER_COMMIT: list[list[str]] = [
    ["apiclient", "get", "motd"],
    ["apiclient", "get", "settings.network"],
    ["apiclient", "get", "bootstrap-containers.boot.source"],
    ["apiclient", "raw", "-m", "GET", "-u", "/settings?keys=settings.motd"],
    ["apiclient", "set", "motd=changed"],
    ["apiclient", "set", "network.no-proxy=[\"localhost\"]"],
    ["boot", "--plan", "--platform", "metal"],
    ["boot", "--plan", "--platform", "metal", "--json"],
    ["bootconfig", "generate"],
    ["netdog", "write-resolv-conf", "--no-reload"],
    ["netdog", "generate-net-config"],
    ["netdog", "node-ip"],
    ["kdump", "plan"],
    ["kdump", "status"],
    ["gpu", "detect"],
    ["analyze"],
    ["status"],
    ["status", "--json"],
    ["support-bundle", "--plan"],  # the bundle's members: tests/kindling/test_support_bundle.py
    ["early-boot-config", "--platform", "metal"],  # second run: skipped
]
# An explicit get of the key (or a prefix holding it) is the one place it may show.
EXPLICIT = [["apiclient", "get", "settings.aws.credentials"], ["apiclient", "get", "aws"], ["apiclient", "get"]]


def _leaks(text: str) -> list[str]:
    return [form[:12] + "…" for form in FORMS if form in text]


# Where DESIGN §10 puts `aws.config` / `aws.credentials` for the AWS SDKs (decoded): the
# second place the secret belongs, and only with mode 0600 (checked below).
AWS_SDK_FILES = frozenset({"root/.aws/config", "root/.aws/credentials"})


def is_sdk_file(root: Path, p: Path) -> bool:
    """An aws-config applier file; it must be 0600, or the secret has leaked."""
    if str(p.relative_to(root)) not in AWS_SDK_FILES:
        return False
    assert p.stat().st_mode & 0o777 == 0o600, f"{p}: secret file not 0600"
    return True


def _files_with_canary(root: Path) -> list[str]:
    found = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.is_symlink():
            continue
        if p.name.startswith("datastore.sqlite3") or is_sdk_file(root, p):
            continue  # the places the secret belongs (the datastore with its WAL)
        data = p.read_bytes()
        if any(form.encode() in data for form in FORMS):
            found.append(str(p.relative_to(root)))
    return found


def _run(argv: list[str], root: Path, env: dict[str, str], outputs: list[tuple[str, str]]) -> int:
    result = run_kindling(argv, root, env)
    outputs.append((" ".join(argv), result.stdout + result.stderr))
    return result.returncode


def _assert_clean(outputs: list[tuple[str, str]], root: Path) -> None:
    leaked = {cmd: _leaks(text) for cmd, text in outputs if _leaks(text)}
    assert leaked == {}
    assert _files_with_canary(root) == []


def test_local_user_data_canary_every_command(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    (root / "var/lib/kindling/user-data.toml").write_text(USER_DATA)
    env = {"PATH": os.environ["PATH"]}
    outputs: list[tuple[str, str]] = []
    assert _run(["early-boot-config", "--platform", "metal"], root, env, outputs) == 0
    assert _run(["early-boot-config", "--platform", "metal", "--json"], root, env, outputs) == 0
    codes = {" ".join(argv): _run(argv, root, env, outputs) for argv in AFTER_COMMIT}
    assert codes["apiclient set motd=changed"] == 0 and codes["bootconfig generate"] == 0
    (root / "var/lib/kindling/user-data.toml").unlink()  # the input itself is not an output
    _assert_clean(outputs, root)
    for argv in EXPLICIT:  # the secret is really stored, and shown when asked for
        shown = run_kindling(argv, root, env)
        assert shown.returncode == 0 and SECRET in shown.stdout and RAW not in shown.stderr


def test_apiserver_debug_log_never_shows_the_canary(tmp_path: Path) -> None:
    from tests.bad_inputs.corpus import api_request

    root, _ = new_root(tmp_path)
    log_file = tmp_path / "apiserver.log"
    env = dict(os.environ, PYTHONPATH=str(REPO), KINDLING_ROOT=str(root))
    with log_file.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "kindling.cli", "apiserver", "--log-level", "debug"],
                                env=env, stderr=log, stdout=log)
    try:
        sock = root / "run/kindling/api.sock"
        from tests.kindling.apiserver_rig import _answers

        deadline = time.monotonic() + 20
        while not _answers(sock):
            assert proc.poll() is None and time.monotonic() < deadline, log_file.read_text()
            time.sleep(0.02)
        body = json.dumps({"aws": {"credentials": SECRET}}).encode()
        assert api_request(sock, "PATCH", "/settings?tx=c", body)[0] == 200
        assert api_request(sock, "POST", "/tx/commit_and_apply?tx=c", b"")[0] == 200
        bad = json.dumps({"aws": {"credentials": SECRET + "!!"}}).encode()
        status, answer = api_request(sock, "PATCH", "/settings?tx=d", bad)
        assert status == 400 and not _leaks(str(answer))
        status, answer = api_request(sock, "GET", "/settings?prefix=settings.motd", b"")
        assert status == 200 and not _leaks(str(answer))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    server_log = log_file.read_text(errors="replace")
    assert "PATCH /settings" in server_log  # debug logging really was on
    _assert_clean([("apiserver", server_log)], root)


@pytest.mark.parametrize(
    "bad",
    [
        f'[settings.aws]\ncredentials = "{SECRET}!"\n',  # invalid base64 around the secret
        f'[settings.network]\nhostname = "{RAW}.-bad"\n',  # a non-secret key holding it
        f'[settings]\nmotd = "{RAW}\n',  # broken TOML around it
        f'[settings.aws]\ncredentials = "{SECRET}"\nbogus = "{RAW}"\n',  # unknown key
        f'[settings.kernel]\nlockdown = "{RAW}"\n',  # an enum
    ],
    ids=["bad-base64", "bad-hostname", "broken-toml", "unknown-key", "bad-enum"],
)
def test_errors_never_echo_the_canary(tmp_path: Path, bad: str) -> None:
    root, _ = new_root(tmp_path)
    (root / "var/lib/kindling/user-data.toml").write_text(bad)
    outputs: list[tuple[str, str]] = []
    assert _run(["early-boot-config", "--platform", "metal"], root, {"PATH": os.environ["PATH"]}, outputs) == 1
    (root / "var/lib/kindling/user-data.toml").unlink()
    _assert_clean(outputs, root)
    set_out: list[tuple[str, str]] = []
    assert _run(["apiclient", "set", f"aws.credentials={SECRET}!"], root, {}, set_out) == 1
    assert _run(["apiclient", "set", f"network.hostname={RAW}.-x"], root, {}, set_out) == 1
    _assert_clean(set_out, root)


def test_guestinfo_canary(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    gi = tmp_path / "guestinfo"
    gi.mkdir()
    (gi / "guestinfo.userdata").write_text(base64.b64encode(USER_DATA.encode()).decode())
    (gi / "guestinfo.userdata.encoding").write_text("base64")
    tool = tmp_path / "rpctool"
    tool.write_text(RPCTOOL)
    tool.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "KINDLING_VMWARE_RPCTOOL": str(tool), "GUESTINFO_DIR": str(gi)}
    outputs: list[tuple[str, str]] = []
    assert _run(["early-boot-config", "--platform", "vmware"], root, env, outputs) == 0
    assert _run(["boot", "--plan", "--platform", "vmware"], root, env, outputs) in (0, 1)
    _assert_clean(outputs, root)
    assert SECRET in run_kindling(["apiclient", "get", "aws.credentials"], root, {}).stdout


def test_imds_canary(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    with ImdsEmulator() as imds:
        imds.identity("eu-west-1")
        imds.set("user-data", USER_DATA)
        env = {"PATH": os.environ["PATH"], "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
        outputs: list[tuple[str, str]] = []
        assert _run(["early-boot-config", "--platform", "aws"], root, env, outputs) == 0
        imds.set("user-data", USER_DATA.replace('"node-1"', f'"{RAW}.-"'))
        (root / "var/lib/kindling/early-boot-config.ran").unlink()
        assert _run(["early-boot-config", "--platform", "aws", "--json"], root, env, outputs) == 1
    _assert_clean(outputs, root)
