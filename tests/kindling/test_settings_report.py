"""Per changed key, users are told what happened (DESIGN §6): `apiclient set`/`apply`,
`early-boot-config` and `boot` print "applied by X", "read by Y at boot" or "stored for
Z"; `GET /metadata/affected-services` answers from the same owner table, over the
socket and without one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kindling.api.client import ApiClient
from kindling.host import Host
from tests.kindling.apiserver_rig import live_apiserver
from tests.kindling.test_cli_tools import REPO, kindling

SET_LINES = [
    "settings.cloudformation.should-signal: read by cfsignal at boot",
    "settings.motd: applied by motd",
    "settings.updates.seed: stored for updater",
]


@pytest.mark.parametrize("server", [False, True], ids=["direct", "socket"])
def test_apiclient_set_and_apply_report_each_changed_key(tmp_path: Path, server: bool) -> None:
    root = tmp_path / "root"
    root.mkdir()
    doc = tmp_path / "u.toml"
    doc.write_text('[settings.kernel.modules.sctp]\nallowed = false\n[settings]\nmotd = "from a file"\n')

    def scenario() -> None:
        r = kindling("apiclient", "set", "motd=hi", "updates.seed=7", "cloudformation.should-signal=true",
                     "kubernetes.max-pods=30", root=root)
        assert r.returncode == 0, r.stderr
        lines = _key_lines(r.stdout)
        assert "applier motd: wrote /etc/motd" in _applier_lines(r.stdout)
        # a key whose owner is another part's (the kubelet's) says what the table says today
        assert lines.pop(1) == "settings.kubernetes.max-pods: " + _effect(root, "settings.kubernetes.max-pods")
        assert lines == SET_LINES
        again = kindling("apiclient", "set", "motd=hi", root=root)
        assert again.stdout == "no settings changed\n"
        applied = kindling("apiclient", "apply", str(doc), root=root)
        assert "applier kernel-modules: failed" not in applied.stdout
        assert _key_lines(applied.stdout) == [
            "settings.kernel.modules.sctp.allowed: " + _effect(root, "settings.kernel.modules.sctp.allowed"),
            "settings.motd: applied by motd",
        ]

    if server:
        with live_apiserver(root):
            scenario()
    else:
        scenario()


def _key_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if not line.startswith("applier ")]


def _applier_lines(stdout: str) -> list[str]:
    """`applier NAME: what it did` / `applier NAME: failed: why`, after the key lines."""
    lines = stdout.splitlines()
    tail = lines[len(_key_lines(stdout)):]
    assert all(line.startswith("applier ") for line in tail), lines
    return tail


def _effect(root: Path, key: str) -> str:
    """What the owner table says today for a key (the kernel appliers may have landed)."""
    from kindling.settings.owners import effects

    return effects([key], None)[0].effect


@pytest.mark.parametrize("mode", ["direct", "socket"])
def test_affected_services_route(tmp_path: Path, mode: str) -> None:
    def ask() -> None:
        client = ApiClient(Host(tmp_path), mode=mode)
        resp = client.request("GET", "/metadata/affected-services?keys=settings.motd,settings.autoscaling")
        assert resp.status == 200
        assert resp.body == {"settings.motd": ["motd"],
                             "settings.autoscaling": ["warm-pool-wait", "lifecycle-complete"]}
        bad = client.request("GET", "/metadata/affected-services?keys=settings.motd.nope")
        assert bad.status == 400 and bad.body["error"] == "keys: settings.motd.nope: unknown key"
        assert client.request("GET", "/metadata/affected-services").status == 400
        assert client.request("POST", "/metadata/affected-services?keys=settings.motd").status == 405
        doc = client.request("GET", "/openapi.json").body
        assert "/metadata/affected-services" in doc["paths"]

    if mode == "socket":
        with live_apiserver(tmp_path):
            ask()
    else:
        ask()


def test_early_boot_config_and_boot_report_each_changed_key(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    shutil.copytree(REPO / "demo/root", root)
    local = root / "etc/kindling/user-data-overrides.toml"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text('[settings]\nmotd = "booted"\n[settings.metrics]\nsend-metrics = false\n')
    r = kindling("boot", "--platform", "metal", root=root)
    lines = r.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("early-boot-config "))
    assert "    settings.motd: applied by motd" in lines[start + 1:]
    assert "    settings.metrics.send-metrics: stored for metrics-reporter" in lines[start + 1:]
    assert (root / "etc/motd").read_text() == "booted\n"
    timeline = json.loads((root / "run/kindling/timeline.json").read_text())
    stage = next(s for s in timeline["stages"] if s["name"] == "early-boot-config")
    assert "settings.metrics.send-metrics: stored for metrics-reporter" in stage["notes"]

    # early-boot-config on its own (fresh root): the same lines, and in --json
    fresh = tmp_path / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns("*.sqlite3*", "*.ran", "motd", "run"))
    out = kindling("early-boot-config", "--platform", "metal", "--json", root=fresh)
    assert out.returncode == 0, out.stderr
    effects = {e["key"]: e["effect"] for e in json.loads(out.stdout)["effects"]}
    assert effects["settings.motd"] == "applied by motd"
    assert effects["settings.metrics.send-metrics"] == "stored for metrics-reporter"


def test_a_failed_applier_is_reported_after_what_did_take_effect(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "etc/motd").mkdir(parents=True)  # /etc/motd cannot be written
    r = kindling("apiclient", "set", "motd=hi", "updates.seed=3", root=root)
    assert r.returncode == 1
    assert _key_lines(r.stdout) == ["settings.motd: not applied: motd failed",
                                    "settings.updates.seed: stored for updater"]
    (motd,) = [line for line in _applier_lines(r.stdout) if line.startswith("applier motd:")]
    assert motd.startswith("applier motd: failed: ") and motd.endswith("/etc/motd: cannot write: Is a directory")
    assert "set: committed, but not applied: motd:" in r.stderr
    assert "Traceback" not in r.stderr
