"""Generators at first boot (Bottlerocket's sundog): an unset key is generated and
committed in the same launch transaction as the user data; a set key is never
overwritten; `--plan` asks nothing and says "would generate". On AWS the real
generators talk to the IMDS emulator on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from early_boot.runner import LAUNCH_TX, run_early_boot
from kindling.errors import HostError
from kindling.generators import Generator, load_generators, run_generators
from kindling.host import FakeClock, Host, RecordingHost
from platforms.aws.max_pods import max_pods_for
from tests.early_boot_helpers import live
from tests.imds_emulator import ImdsEmulator

REPO = Path(__file__).resolve().parents[2]
LOCAL = "/var/lib/kindling/user-data.toml"
CURRENT_IP = "/var/lib/kindling/netdog/current_ip"


def plant(root: Path, path: str, text: str) -> None:
    real = root / path.lstrip("/")
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_text(text)


def test_registered_generators() -> None:
    keys = {(g.key, g.platforms) for g in load_generators()}
    assert keys == {("network.hostname", None), ("kubernetes.node-ip", None),
                    ("kubernetes.provider-id", ("aws",)), ("kubernetes.max-pods", ("aws",))}


def test_eni_max_pods_table_shipped_as_data() -> None:
    assert max_pods_for("m5.large") == 29
    assert max_pods_for("t3.micro") == 4
    assert max_pods_for("no-such.type") is None


def _gen(key: str, value: Any, calls: list[str]) -> Generator:
    def generate(host: Host, platform: str) -> tuple[Any, str]:
        calls.append(key)
        return value, "test source"

    return Generator(name=f"test-{key}", key=key, generate=generate, sources="a test source")


def test_only_unset_keys_are_generated(host: Host) -> None:
    calls: list[str] = []
    gens = [_gen("network.hostname", "gen-name", calls), _gen("motd", "generated motd", calls)]
    report = run_generators(host, "metal", {"network": {"hostname": "user-name"}}, gens)
    assert calls == ["motd"] and report.tree == {"motd": "generated motd"}
    assert report.lines == ["generated settings.motd from test source"]


def test_generated_value_must_pass_the_model(host: Host) -> None:
    report = run_generators(host, "metal", {}, [_gen("network.hostname", "Not A Hostname!", [])])
    assert report.tree == {}
    assert report.lines[0].startswith("settings.network.hostname not generated: ")
    assert "not a valid Linux hostname" in report.lines[0]


def test_failing_generator_leaves_the_key_unset(host: Host) -> None:
    def broken(host: Host, platform: str) -> tuple[Any, str]:
        raise HostError("no primary address recorded yet")

    gen = Generator(name="broken", key="kubernetes.node-ip", generate=broken, sources="x")
    report = run_generators(host, "metal", {}, [gen])
    assert report.tree == {} and "no primary address" in report.lines[0]


def test_plan_says_would_generate_and_calls_nothing(plan_host: RecordingHost) -> None:
    calls: list[str] = []
    report = run_generators(plan_host, "metal", {}, [_gen("network.hostname", "x", calls)])
    assert calls == [] and report.tree == {}
    assert report.lines == ["would generate settings.network.hostname (a test source)"]


def test_metal_node_ip_generated_in_the_launch_transaction(host: Host) -> None:
    plant(host.root, LOCAL, '[settings]\nmotd = "hi"\n[settings.network]\nhostname = "user-set"\n'
                            '[settings.kubernetes]\ncluster-name = "c1"\n')
    plant(host.root, CURRENT_IP, "192.0.2.10\n")
    report = run_early_boot(host, "metal")
    settings = live(host)
    assert settings["kubernetes"] == {"cluster-name": "c1", "node-ip": "192.0.2.10"}
    assert settings["network"] == {"hostname": "user-set"}  # never overwritten
    assert "generated settings.kubernetes.node-ip from the primary interface's address" in report.generated
    # one commit: the user data and the generated key arrived together
    from kindling.datastore import Datastore

    with Datastore(host) as store:
        commits = store._rows("SELECT tx, keys FROM commits")
    assert [(tx, json.loads(keys)) for tx, keys in commits] == [
        (LAUNCH_TX, ["kubernetes.cluster-name", "kubernetes.node-ip", "motd", "network.hostname"])]


def test_no_kubernetes_keys_generated_for_a_node_without_kubernetes(host: Host) -> None:
    plant(host.root, LOCAL, '[settings]\nmotd = "hi"\n[settings.network]\nhostname = "user-set"\n')
    plant(host.root, CURRENT_IP, "192.0.2.10\n")
    report = run_early_boot(host, "metal")
    assert "kubernetes" not in live(host) and report.generated == []


@pytest.mark.rig
def test_metal_hostname_falls_back_to_the_ip_without_dns(tmp_path: Path) -> None:
    """In a network namespace of its own (no resolver reachable) reverse DNS finds
    nothing, so the hostname is the IP, as Bottlerocket's last resort."""
    root = tmp_path / "root"
    plant(root, CURRENT_IP, "192.0.2.77\n")
    plant(root, LOCAL, '[settings]\nmotd = "hi"\n')
    argv = ["unshare", "--net", sys.executable, "-m", "kindling.cli", "early-boot-config", "--platform", "metal",
            "--json", "--root", str(root)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    if out.returncode != 0 and "Operation not permitted" in out.stderr:
        pytest.skip("no permission for a network namespace")
    assert out.returncode == 0, out.stderr
    assert "generated settings.network.hostname from ip" in json.loads(out.stdout)["generated"]
    assert (root / "etc/hostname").read_text() == "192.0.2.77\n"


@pytest.fixture
def imds() -> Any:
    with ImdsEmulator() as emulator:
        emulator.set("meta-data/local-hostname", "ip-192-0-2-10.us-west-2.compute.internal other.example")
        emulator.identity("us-west-2", availabilityZone="us-west-2b", instanceType="m5.large")
        yield emulator


K8S = '[settings.kubernetes]\ncluster-name = "c1"\n'


def _aws_host(root: Path, imds: ImdsEmulator) -> Host:
    return Host(root, clock=FakeClock(), env={"PATH": os.environ.get("PATH", ""),
                                              "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})


def test_aws_generators_against_the_imds_emulator(tmp_path: Path, imds: ImdsEmulator) -> None:
    root = tmp_path / "root"
    plant(root, CURRENT_IP, "192.0.2.10\n")
    imds.set("user-data", K8S)
    host = _aws_host(root, imds)
    report = run_early_boot(host, "aws")
    settings = live(host)
    assert settings["network"]["hostname"] == "ip-192-0-2-10.us-west-2.compute.internal"
    assert settings["kubernetes"] == {"cluster-name": "c1", "node-ip": "192.0.2.10", "max-pods": 29,
                                      "provider-id": "aws:///us-west-2b/i-0123456789abcdef0"}
    assert any("eni-max-pods table for m5.large" in line for line in report.generated)
    # the identity document the region provider fetched is reused: one GET of it per boot
    docs = [r for r in imds.requests if r.path.endswith("instance-identity/document")]
    assert len(docs) == 1
    # the generated hostname took effect like a user-set one
    assert (root / "etc/hostname").read_text() == "ip-192-0-2-10.us-west-2.compute.internal\n"


def test_aws_user_values_are_never_overwritten(tmp_path: Path, imds: ImdsEmulator) -> None:
    root = tmp_path / "root"
    plant(root, CURRENT_IP, "192.0.2.10\n")
    imds.set("user-data", '[settings.kubernetes]\nmax-pods = 50\nnode-ip = "198.51.100.1"\n'
                          '[settings.network]\nhostname = "mine"\n')
    host = _aws_host(root, imds)
    run_early_boot(host, "aws")
    settings = live(host)
    assert settings["kubernetes"]["max-pods"] == 50 and settings["kubernetes"]["node-ip"] == "198.51.100.1"
    assert settings["network"]["hostname"] == "mine"
    assert settings["kubernetes"]["provider-id"] == "aws:///us-west-2b/i-0123456789abcdef0"
    assert not any(r.path.endswith("local-hostname") for r in imds.requests)  # hostname was set


def test_offline_identity_document_feeds_the_generators(tmp_path: Path) -> None:
    from kindling.generators import load_generators as gens

    root = tmp_path / "root"
    plant(root, "/etc/kindling/identity-document",
          json.dumps({"region": "eu-west-1", "availabilityZone": "eu-west-1c", "instanceId": "i-0abc",
                      "instanceType": "t3.micro"}))
    host = Host(root, clock=FakeClock(), env={})  # no IMDS endpoint at all: nothing is asked
    aws = [g for g in gens() if g.platforms == ("aws",)]
    report = run_generators(host, "aws", {"kubernetes": {"cluster-name": "c1"}}, aws)
    assert report.tree == {"kubernetes": {"max-pods": 4, "provider-id": "aws:///eu-west-1c/i-0abc"}}


def test_aws_plan_asks_imds_nothing_for_generators(tmp_path: Path, imds: ImdsEmulator) -> None:
    root = tmp_path / "root"
    plant(root, CURRENT_IP, "192.0.2.10\n")
    plant(root, "/var/lib/kindling/user-data.toml", K8S)  # a plan reads local files only
    imds.set("user-data", K8S)
    plan = RecordingHost(root, clock=FakeClock(), env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
    report = run_early_boot(plan, "aws")
    assert ("would generate settings.kubernetes.max-pods (instance type from the identity document, "
            "eni-max-pods table)") in report.generated
    assert imds.requests == []  # no network call in plan mode, not even for user data
    assert not (root / "var/lib/kindling/datastore.sqlite3").exists()
