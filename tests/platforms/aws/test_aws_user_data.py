"""early-boot-config on AWS end to end: emulator over HTTP, real datastore, real CLI."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from early_boot.errors import ProviderError
from early_boot.runner import run_early_boot
from kindling.host import FakeClock, Host
from tests.early_boot_helpers import live, marker_exists, seed, state
from tests.imds_emulator import ImdsEmulator

REPO = Path(__file__).resolve().parents[3]

USER_DATA = '[settings]\nmotd = "from imds"\n[settings.kubernetes]\ncluster-name = "c1"\n'


@pytest.fixture
def aws_host(root: Path, clock: FakeClock, imds: ImdsEmulator) -> Host:
    return Host(
        root,
        clock=clock,
        env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "KINDLING_IMDS_BUDGET": "30"},
    )


def test_first_boot_reads_identity_and_user_data(aws_host: Host, imds: ImdsEmulator) -> None:
    imds.identity("eu-west-1")
    imds.set("user-data", USER_DATA)
    report = run_early_boot(aws_host, "aws")
    assert live(aws_host) == {
        "aws": {"region": "eu-west-1"},
        "motd": "from imds",
        # generated for a Kubernetes node from the identity document (no extra request)
        "kubernetes": {"cluster-name": "c1", "max-pods": 29, "provider-id": "aws:///eu-west-1a/i-0123456789abcdef0"},
    }
    assert [(p.name, p.source) for p in report.providers if p.source] == [
        ("ec2-identity-doc", "IMDS dynamic/instance-identity/document"),
        ("ec2-imds", "IMDS user-data"),
    ]
    assert [(r.method, r.path) for r in imds.requests] == [
        ("PUT", "/latest/api/token"),
        ("GET", "/2021-07-15/dynamic/instance-identity/document"),
        ("GET", "/2021-07-15/user-data"),
    ]
    assert marker_exists(aws_host)


def test_gzip_user_data_and_imds_wins_over_identity(aws_host: Host, imds: ImdsEmulator) -> None:
    imds.identity("eu-west-1")
    imds.set("user-data", gzip.compress(b'[settings.aws]\nregion = "ap-south-1"\n'))
    run_early_boot(aws_host, "aws")
    assert live(aws_host) == {"aws": {"region": "ap-south-1"}}


def test_no_user_data_and_no_document_falls_back_to_us_east_1(aws_host: Host, imds: ImdsEmulator) -> None:
    report = run_early_boot(aws_host, "aws")
    assert live(aws_host) == {"aws": {"region": "us-east-1"}}
    assert report.providers[3].source is None  # ec2-imds: 404 = no user data
    imds.identity("eu-west-1")


def test_blank_user_data_is_none(aws_host: Host, imds: ImdsEmulator) -> None:
    imds.identity()
    imds.set("user-data", "\n  \n")
    assert [p.keys for p in run_early_boot(aws_host, "aws").providers if p.name == "ec2-imds"] == [0]


def test_offline_identity_document_wins_and_skips_imds(aws_host: Host, imds: ImdsEmulator) -> None:
    doc = aws_host.path("/etc/kindling/identity-document")
    doc.parent.mkdir(parents=True)
    doc.write_text(json.dumps({"region": "us-gov-west-1", "instanceId": "i-1"}))
    imds.identity("eu-west-1")
    run_early_boot(aws_host, "aws")
    assert live(aws_host)["aws"] == {"region": "us-gov-west-1"}
    assert imds.count("GET", "instance-identity/document") == 0


@pytest.mark.parametrize(
    "body, rule",
    [
        ('{"instanceId": "i-1"}', "missing region"),
        ('{"region": 5}', "region: expected a string"),
        ("{", "not a JSON document"),
    ],
)
def test_bad_offline_identity_document(aws_host: Host, body: str, rule: str) -> None:
    seed(aws_host)
    doc = aws_host.path("/etc/kindling/identity-document")
    doc.parent.mkdir(parents=True)
    doc.write_text(body)
    before = state(aws_host)
    with pytest.raises(
        ProviderError,
        match=rf"^provider ec2-identity-doc \(/etc/kindling/identity-document\): .*{rule}",
    ):
        run_early_boot(aws_host, "aws")
    assert state(aws_host) == before and not marker_exists(aws_host)


BAD_IMDS = [
    ("invalid TOML", b"settings.motd: hello\n", "invalid TOML"),
    ("MIME multipart", b'Content-Type: multipart/mixed; boundary="//"\n\n--//\n', "invalid TOML"),
    ("missing settings", b'motd = "x"\n', "did not contain a 'settings' table"),
    (
        "unknown key",
        b"[settings.kubernetes]\nwarm-pools-check = true\n",
        "settings.kubernetes.warm-pools-check: unknown key",
    ),
    (
        "wrong type",
        b'[settings.autoscaling]\nshould-wait = "yes"\n',
        "settings.autoscaling.should-wait",
    ),
    ("bad gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not-deflate", "does not decompress"),
    ("bomb", gzip.compress(b" " * (1 << 22)), "larger than 64 KiB after decompression"),
]


@pytest.mark.parametrize("case, body, rule", BAD_IMDS, ids=[c[0] for c in BAD_IMDS])
def test_bad_imds_user_data_commits_nothing(
    aws_host: Host, imds: ImdsEmulator, case: str, body: bytes, rule: str
) -> None:
    seed(aws_host)
    imds.identity()
    imds.set("user-data", body)
    before = state(aws_host)
    with pytest.raises(ProviderError) as info:
        run_early_boot(aws_host, "aws")
    assert str(info.value).startswith("provider ec2-imds (IMDS user-data): ")
    assert rule in str(info.value)
    assert state(aws_host) == before and not marker_exists(aws_host)


def test_imds_that_never_answers_commits_nothing(aws_host: Host, clock: FakeClock, imds: ImdsEmulator) -> None:
    seed(aws_host)
    imds.outage("refuse")
    before = state(aws_host)
    with pytest.raises(ProviderError, match=r"provider ec2-identity-doc .*gave up .*budget 30s"):
        run_early_boot(aws_host, "aws")
    assert state(aws_host) == before and not marker_exists(aws_host)
    assert sum(clock.sleeps) <= 30


def test_recovers_from_throttling_within_budget(aws_host: Host, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.identity("eu-north-1")
    imds.set("user-data", USER_DATA)
    imds.fail("user-data", 503, times=3, retry_after=2)
    run_early_boot(aws_host, "aws")
    assert live(aws_host)["motd"] == "from imds"
    assert clock.sleeps == [2.0, 2.0, 2.0]


# -- the real command line -----------------------------------------------------------------


def _kindling(args: list[str], imds: ImdsEmulator) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "KINDLING_IMDS_BUDGET": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kindling.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_cli_json_and_exit_codes(root: Path, imds: ImdsEmulator) -> None:
    imds.identity("eu-west-3")
    secret = "c2VjcmV0LWNyZWRlbnRpYWxzLXZhbHVl"
    imds.set("user-data", f'[settings.aws]\ncredentials = "{secret}"\n[settings]\nmotd = 3\n')
    bad = _kindling(["early-boot-config", "--root", str(root), "--platform", "aws"], imds)
    assert bad.returncode == 1
    assert "provider ec2-imds (IMDS user-data): settings.motd" in bad.stderr
    assert secret not in bad.stderr + bad.stdout
    assert not (root / "var/lib/kindling/early-boot-config.ran").exists()

    imds.set("user-data", USER_DATA)
    sent = len(imds.requests)
    plan = _kindling(["early-boot-config", "--root", str(root), "--platform", "aws", "--plan"], imds)
    # a plan sends no request: IMDS user data is named, not read
    assert plan.returncode == 0 and "would GET imds user-data (provider ec2-imds" in plan.stdout
    assert len(imds.requests) == sent
    assert not (root / "var/lib/kindling").exists()

    good = _kindling(["early-boot-config", "--root", str(root), "--platform", "aws", "--json"], imds)
    assert good.returncode == 0, good.stderr
    out = json.loads(good.stdout)
    assert "settings.motd" in out["changed"] and out["skipped"] is None
    again = _kindling(["early-boot-config", "--root", str(root), "--platform", "aws"], imds)
    assert again.returncode == 0 and "skipped" in again.stdout


def test_boot_runs_the_stage(root: Path, imds: ImdsEmulator) -> None:
    imds.identity("eu-west-3")
    imds.set("user-data", USER_DATA)
    done = _kindling(["boot", "--root", str(root), "--platform", "aws", "--json"], imds)
    stages = {s["name"]: s for s in json.loads(done.stdout)["stages"]}
    assert stages["early-boot-config"]["status"] == "ok", done.stdout
    assert (root / "etc/motd").read_text().startswith("from imds")
