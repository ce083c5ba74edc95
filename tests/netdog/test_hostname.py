"""generate-hostname (sources in order, validation, fallbacks), the IMDS lookup against
an emulator on 127.0.0.1, and set-hostname under the root prefix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kindling.errors import InputError
from kindling.host import FakeClock, Host, RecordingHost
from kindling.imds import TOKEN_TTL, ImdsError
from kindling.retry import RetryBudgetExceeded
from netdog import paths
from netdog.hostname import generate_hostname, set_hostname
from netdog.imds_hostname import HOSTNAME_BUDGET, imds_local_hostname
from tests.imds_emulator import ImdsEmulator


def test_first_valid_source_wins_and_is_cleaned() -> None:
    calls: list[str] = []

    def imds() -> str | None:
        calls.append("imds")
        return "IP-10-0-0-1.us-west-2.compute.internal.\n"

    def rdns() -> str | None:
        calls.append("rdns")
        return "other"

    assert generate_hostname("10.0.0.1", [("imds", imds), ("rdns", rdns)]) == (
        "ip-10-0-0-1.us-west-2.compute.internal", "imds")
    assert calls == ["imds"]


def test_failing_source_is_passed_over() -> None:
    def broken() -> str | None:
        raise RetryBudgetExceeded("imds GET meta-data/local-hostname: gave up")

    assert generate_hostname("10.0.0.1", [("imds", broken), ("rdns", lambda: "n1.lan")]) == (
        "n1.lan", "rdns")


def test_invalid_or_missing_answers_fall_through_to_ip() -> None:
    sources = [("imds", lambda: None), ("rdns", lambda: "bad_name!")]
    assert generate_hostname("2001:db8::1", sources) == ("2001-db8--1", "ip")
    assert generate_hostname("10.0.0.9", [("rdns", lambda: "-x")]) == ("10.0.0.9", "ip")


def _imds_host(root: Path, clock: FakeClock, imds: ImdsEmulator) -> Host:
    return Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})


def test_imds_local_hostname(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.set("meta-data/local-hostname", "ip-10-1-2-3.ec2.internal other.example")
    imds.fail_token(503, times=2)
    assert imds_local_hostname(_imds_host(root, clock, imds)) == "ip-10-1-2-3.ec2.internal"
    assert [(r.method, r.path, r.status) for r in imds.requests] == [
        ("PUT", "/latest/api/token", 503), ("PUT", "/latest/api/token", 503), ("PUT", "/latest/api/token", 200),
        ("GET", "/2021-07-15/meta-data/local-hostname", 200)]  # the pinned schema, as every IMDS read
    assert len(clock.sleeps) == 2  # two 503s retried on the Host clock, no real waiting


def test_imds_404_is_absent_not_retried(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    assert imds_local_hostname(_imds_host(root, clock, imds)) is None
    assert imds.count("GET") == 1 and clock.sleeps == []


def test_imds_unreachable_gives_up_within_budget(root: Path, clock: FakeClock) -> None:
    host = Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"})
    with pytest.raises(ImdsError, match="imds meta-data/local-hostname: gave up"):
        imds_local_hostname(host, budget=3)
    assert 0 < sum(clock.sleeps) <= 3


def test_hostname_budget_is_its_own_minute_unless_named(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    """IMDS down: the hostname source gives up after 60 s (then reverse DNS), not the 300 s
    early-boot-config waits; `KINDLING_IMDS_BUDGET` still rules when set."""
    imds.fail("meta-data/local-hostname", 500, times=10_000)
    with pytest.raises(ImdsError, match="gave up"):
        imds_local_hostname(_imds_host(root, clock, imds))
    assert 50 < sum(clock.sleeps) <= HOSTNAME_BUDGET
    named = FakeClock()
    host = Host(root, clock=named, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "KINDLING_IMDS_BUDGET": "5"})
    with pytest.raises(ImdsError, match="gave up"):
        imds_local_hostname(host)
    assert sum(named.sleeps) <= 5


def test_the_token_of_the_aws_reads_is_reused(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    """One node, one session: the token early-boot-config fetched (identity document)
    names the host too; a refused (401) token is fetched again once, at once."""
    from platforms.aws.imds import client_for

    imds.identity("eu-west-1")
    imds.set("meta-data/local-hostname", "ip-10-1-2-3.eu-west-1.compute.internal")
    host = _imds_host(root, clock, imds)
    assert client_for(host).region() == "eu-west-1"
    assert imds_local_hostname(host) == "ip-10-1-2-3.eu-west-1.compute.internal"
    assert imds.count("PUT") == 1 and imds.count("GET") == 2
    imds.expire_tokens()
    assert imds_local_hostname(host) == "ip-10-1-2-3.eu-west-1.compute.internal"
    assert [r.status for r in imds.requests[-3:]] == [401, 200, 200] and imds.count("PUT") == 2
    assert clock.sleeps == []


def test_a_token_past_its_ttl_is_not_sent(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    """The token's 60 s run on the Host clock (the emulator's too, here): a lookup a
    minute after the token was fetched asks for a new one first instead of earning a 401."""
    imds.use_clock(clock.monotonic)
    imds.set("meta-data/local-hostname", "n1.ec2.internal")
    host = _imds_host(root, clock, imds)
    assert imds_local_hostname(host) == "n1.ec2.internal"
    clock.sleep(TOKEN_TTL + 1)
    assert imds_local_hostname(host) == "n1.ec2.internal"
    assert [(r.method, r.status) for r in imds.requests] == [("PUT", 200), ("GET", 200), ("PUT", 200), ("GET", 200)]


def test_set_hostname_writes_kernel_file(host: Host) -> None:
    p = host.path(paths.KERNEL_HOSTNAME)
    p.parent.mkdir(parents=True)
    p.write_text("localhost\n")
    assert set_hostname(host, "node-1.example") is True
    assert p.read_text() == "node-1.example\n"
    assert set_hostname(host, "node-1.example") is False


def test_set_hostname_rejects_invalid_without_echo(host: Host) -> None:
    p = host.path(paths.KERNEL_HOSTNAME)
    p.parent.mkdir(parents=True)
    p.write_text("localhost\n")
    with pytest.raises(InputError) as info:
        set_hostname(host, "Bad_Host")
    assert "Bad_Host" not in str(info.value)
    assert p.read_text() == "localhost\n"


def test_set_hostname_under_plan_records_and_changes_nothing(plan_host: RecordingHost) -> None:
    p = plan_host.path(paths.KERNEL_HOSTNAME)
    p.parent.mkdir(parents=True)
    p.write_text("localhost\n")
    assert set_hostname(plan_host, "node-2") is True
    assert p.read_text() == "localhost\n"
    assert plan_host.actions == [f"write-in-place {paths.KERNEL_HOSTNAME} (7 bytes)"]


def test_imds_is_never_asked_by_default_under_a_root_prefix(root: Path) -> None:
    """A prefixed root is a test, demo or image build: no request to the link-local IMDS
    unless an endpoint is named; the hostname falls back to the next source."""
    from kindling.errors import InputError

    host = Host(root, clock=FakeClock(), env={})
    with pytest.raises(InputError, match="AWS_EC2_METADATA_SERVICE_ENDPOINT"):
        imds_local_hostname(host)


_GENERATE = """
import json, sys
from kindling.cli import main
code = main(["netdog", "generate-hostname", "--platform", "aws", "--no-reverse-dns", "--root", sys.argv[1]])
with open(sys.argv[2], "w") as fh:
    json.dump(sorted(sys.modules), fh)
sys.exit(code)
"""
NOT_FOR_A_HOSTNAME = ("http", "http.client", "email", "email.parser", "ssl", "_ssl", "platforms.aws.imds")


def test_generate_hostname_on_aws_alone_one_token_no_http_client(tmp_path: Path, imds: ImdsEmulator) -> None:
    """The command by itself (a fresh interpreter, as its unit runs it): one token, one
    GET, and the session's own HTTP/1.1 — neither `http.client` (with `email.*`, `ssl`)
    nor the AWS platform package is imported to ask IMDS for a name."""
    root, out = tmp_path / "root", tmp_path / "modules.json"
    (root / paths.CURRENT_IP.lstrip("/")).parent.mkdir(parents=True)
    (root / paths.CURRENT_IP.lstrip("/")).write_text("10.1.2.3\n")
    imds.set("meta-data/local-hostname", "ip-10-1-2-3.eu-west-1.compute.internal. other.example")
    env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
    done = subprocess.run([sys.executable, "-c", _GENERATE, str(root), str(out)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == "ip-10-1-2-3.eu-west-1.compute.internal"
    assert [(r.method, r.path) for r in imds.requests] == [
        ("PUT", "/latest/api/token"), ("GET", "/2021-07-15/meta-data/local-hostname")]
    modules = set(json.loads(out.read_text()))
    assert "kindling.imds" in modules  # the guard looks at a run that asked IMDS
    assert sorted(modules & set(NOT_FOR_A_HOSTNAME)) == []
