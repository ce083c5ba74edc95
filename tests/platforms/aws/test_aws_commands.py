"""The three commands as a user runs them (real `kindling` process), the boot stages,
and the import cost promise (botocore and dbus-fast only when a call is made)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kindling.boot import Stage, run_boot
from kindling.errors import KindlingError
from kindling.host import Host
from kindling.registry import entry_points
from platforms.aws.cfsignal import MARKER
from platforms.aws.stages import CFSIGNAL, LIFECYCLE, WARM_POOL_WAIT
from tests.imds_emulator import ImdsEmulator
from tests.platforms.aws.aws_endpoint import AwsEndpoint
from tests.platforms.aws.conftest import SIGNAL, commit
from tests.platforms.aws.dbus_rig import FakeSystemd

KINDLING = str(Path(sys.executable).with_name("kindling"))


def kindling(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINDLING, *args], capture_output=True, text=True, timeout=60,
                          env={**env, "PYTHONDONTWRITEBYTECODE": "1"})


def test_help_lists_the_commands_without_importing_them() -> None:
    code = ("import sys; from kindling.cli import main; main(['--help']); "
            "print(sorted(m for m in sys.modules if m.startswith(('platforms', 'botocore', 'dbus_fast'))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "cfsignal" in r.stdout and "warm-pool-wait" in r.stdout and "lifecycle" in r.stdout
    assert r.stdout.strip().endswith("[]")


def test_service_modules_do_not_import_botocore_or_dbus() -> None:
    code = ("import sys, platforms.aws.cfsignal, platforms.aws.warm_pool, platforms.aws.lifecycle, "
            "platforms.aws.stages; print([m for m in sys.modules if m.startswith(('botocore', 'dbus_fast'))])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "[]", r.stderr


def test_cfsignal_command_json(rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint) -> None:
    commit(rig_host, SIGNAL)
    systemd.set_state("running")
    r = kindling("cfsignal", "--root", str(rig_host.root), "--json", env=dict(rig_host.env))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["sent"] and out["status"] == "SUCCESS" and out["system_state"] == "running"
    assert endpoint.actions() == ["SignalResource"]
    assert rig_host.exists(MARKER)


def test_cfsignal_command_bad_input_exits_1_naming_the_key(rig_host: Host, endpoint: AwsEndpoint) -> None:
    commit(rig_host, {"cloudformation": {"should-signal": True}})
    r = kindling("cfsignal", "--root", str(rig_host.root), env=dict(rig_host.env))
    assert r.returncode == 1
    assert "settings.cloudformation.stack-name: required" in r.stderr
    assert endpoint.calls == []


def test_cfsignal_command_plan(rig_host: Host, endpoint: AwsEndpoint) -> None:
    commit(rig_host, SIGNAL)
    r = kindling("cfsignal", "--root", str(rig_host.root), "--plan", "--status", "failure", env=dict(rig_host.env))
    assert r.returncode == 0, r.stderr
    # a plan sends nothing, not even the IMDS read: it stops there and says what follows
    assert "would GET imds meta-data/instance-id" in r.stdout
    assert "would signal FAILURE to node-stack/NodeGroup" in r.stdout and f"would write {MARKER}" in r.stdout
    assert endpoint.received == 0 and not rig_host.exists(MARKER)


def test_warm_pool_wait_command(rig_host: Host, aws_imds: ImdsEmulator) -> None:
    commit(rig_host, {"autoscaling": {"should-wait": True}})
    aws_imds.set("meta-data/autoscaling/target-lifecycle-state", "InService")
    r = kindling("warm-pool-wait", "--root", str(rig_host.root), "--json", env=dict(rig_host.env))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["polls"] == 1


def test_lifecycle_command_and_usage(rig_host: Host, endpoint: AwsEndpoint) -> None:
    commit(rig_host, {"autoscaling": {"lifecycle-hook-name": "launch-hook"}})
    r = kindling("lifecycle", "complete", "--root", str(rig_host.root), "--result", "continue",
                 env=dict(rig_host.env))
    assert r.returncode == 0, r.stderr
    assert "lifecycle: CONTINUE for hook launch-hook in group node-asg" in r.stdout
    assert kindling("lifecycle", env=dict(os.environ)).returncode == 2
    assert kindling("warm-pool-wait", "--timeout", "-1", env=dict(os.environ)).returncode == 2


def test_stages_are_registered_in_the_consumer_band() -> None:
    names = {ep.name: ep.value for ep in entry_points("kindling.boot_stages")}
    assert names["cfsignal"] == "platforms.aws.stages:CFSIGNAL"
    assert names["warm-pool-wait"] == "platforms.aws.stages:WARM_POOL_WAIT"
    assert names["lifecycle-complete"] == "platforms.aws.stages:LIFECYCLE"
    for stage in (WARM_POOL_WAIT, CFSIGNAL, LIFECYCLE):
        assert 60 <= stage.order <= 79 and stage.platforms == ("aws",)
    assert WARM_POOL_WAIT.order < CFSIGNAL.order < LIFECYCLE.order


def _broken(ctx: object) -> None:
    raise KindlingError("early-boot-config: imds: settings.motd: not text")


def test_boot_run_signals_failure_when_an_earlier_stage_failed(
    rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint, aws_imds: ImdsEmulator
) -> None:
    """Inside `kindling boot` the stages judge the run so far: no wait on systemd (it
    would wait on this very process), a failed stage means FAILURE / ABANDON."""
    commit(rig_host, {**SIGNAL, "autoscaling": {"should-wait": True, "lifecycle-hook-name": "launch-hook"}})
    aws_imds.set("meta-data/autoscaling/target-lifecycle-state", "InService")
    broken = Stage(name="early-boot-config", order=30, run=_broken)  # type: ignore[arg-type]
    report = run_boot(rig_host, "aws", stages=[broken, WARM_POOL_WAIT, CFSIGNAL, LIFECYCLE])
    status = {r.name: (r.status, r.detail) for r in report.records}
    assert status["warm-pool-wait"][0] == "ok"
    assert status["cfsignal"] == ("ok", "signalled FAILURE to node-stack/NodeGroup")
    assert status["lifecycle-complete"] == ("ok", "ABANDON for hook launch-hook in group node-asg")
    assert endpoint.calls[0].params["Status"] == "FAILURE"


def test_boot_run_signals_success_when_all_is_well(
    rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint
) -> None:
    commit(rig_host, SIGNAL)
    report = run_boot(rig_host, "aws", stages=[WARM_POOL_WAIT, CFSIGNAL, LIFECYCLE])
    status = {r.name: (r.status, r.detail) for r in report.records}
    assert status["warm-pool-wait"][0] == "skipped"
    assert status["cfsignal"] == ("ok", "signalled SUCCESS to node-stack/NodeGroup")
    assert status["lifecycle-complete"][0] == "skipped"
    assert report.ok
    assert run_boot(rig_host, "metal", stages=[CFSIGNAL]).records == []


def test_no_secret_reaches_output_even_at_debug_level(
    rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint
) -> None:
    """settings.aws.credentials is sensitive: neither its keys nor the decoded text may be printed."""
    import base64

    secret = "settings-secret-key-never-print-01"
    ini = f"[default]\naws_access_key_id = AKIASETTINGS00000001\naws_secret_access_key = {secret}\n"
    endpoint.add_key("AKIASETTINGS00000001", secret)
    commit(rig_host, {**SIGNAL, "aws": {"credentials": base64.b64encode(ini.encode()).decode()}})
    systemd.set_state("degraded", failed=["kubelet.service"])
    r = kindling("cfsignal", "--root", str(rig_host.root), "--log-level", "debug", env=dict(rig_host.env))
    assert r.returncode == 0, r.stderr
    assert endpoint.calls[0].access_key == "AKIASETTINGS00000001"
    assert endpoint.calls[0].params["Status"] == "FAILURE"
    assert "kubelet.service" in r.stderr
    for text in (r.stdout, r.stderr):
        assert secret not in text and "aws_secret_access_key" not in text
    # written only where DESIGN §10 puts it for the AWS SDKs, root-only
    written = list(rig_host.root.rglob("*credentials*"))
    assert [str(p.relative_to(rig_host.root)) for p in written] in ([], ["root/.aws/credentials"])
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in written)
