"""The IMDSv2 client against the emulator over real HTTP on 127.0.0.1 (fake clock)."""

from __future__ import annotations

import http.client
import json
import random
from email.utils import formatdate
from pathlib import Path

import pytest

from kindling.errors import InputError
from kindling.host import FakeClock, Host
from platforms.aws.imds import (
    DEFAULT_ENDPOINT,
    IPV6_ENDPOINT,
    ImdsClient,
    ImdsError,
    endpoint_from_env,
    parse_retry_after,
)
from tests.imds_emulator import ImdsEmulator

VECTORS = "bottlerocket/imdsclient/derived/imdsclient_vectors.json"


def make(root: Path, clock: FakeClock, imds: ImdsEmulator, **env: str) -> ImdsClient:
    host = Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, **env})
    return ImdsClient(host, rng=random.Random(7))


def test_token_once_then_reused_and_pinned_schema(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.set("meta-data/instance-type", "m5.large")
    imds.set("meta-data/instance-id", "i-0abc\n")
    client = make(root, clock, imds)
    assert client.get("meta-data/instance-type") == b"m5.large"
    assert client.instance_id() == "i-0abc"
    assert imds.count("PUT", "/latest/api/token") == 1
    gets = [r.path for r in imds.requests if r.method == "GET"]
    assert gets == ["/2021-07-15/meta-data/instance-type", "/2021-07-15/meta-data/instance-id"]
    assert all(r.had_token for r in imds.requests if r.method == "GET")
    assert clock.sleeps == []


def test_404_is_absent_and_never_retried(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    client = make(root, clock, imds)
    assert client.get("user-data") is None
    assert imds.count("GET") == 1 and clock.sleeps == []


def test_expired_token_refreshed_at_once(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.set("user-data", "x")
    client = make(root, clock, imds)
    assert client.get("user-data") == b"x"
    imds.expire_tokens()
    assert client.get("user-data") == b"x"
    assert imds.count("PUT") == 2
    assert [r.status for r in imds.requests if r.method == "GET"] == [200, 401, 200]
    assert clock.sleeps == []


def test_persistent_401_gives_up_within_budget(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.set("user-data", "x")
    imds.fail("user-data", 401, times=10_000)
    client = make(root, clock, imds, KINDLING_IMDS_BUDGET="20")
    with pytest.raises(ImdsError, match=r"imds user-data: gave up .* HTTP 401"):
        client.get("user-data")
    assert imds.count("PUT") >= 2
    assert sum(clock.sleeps) <= 20


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_honoured(root: Path, clock: FakeClock, imds: ImdsEmulator, status: int) -> None:
    imds.set("user-data", "ok")
    imds.fail("user-data", status, times=2, retry_after=7)
    assert make(root, clock, imds).get("user-data") == b"ok"
    assert clock.sleeps == [7.0, 7.0]


def test_retry_after_http_date(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.set("user-data", "ok")
    imds.fail("user-data", 503, retry_after=formatdate(clock.time() + 42, usegmt=True))
    assert make(root, clock, imds).get("user-data") == b"ok"
    assert clock.sleeps == [pytest.approx(42, abs=1)]


def test_fibonacci_backoff_with_jitter(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.set("user-data", "ok")
    imds.fail("user-data", 500, times=12)
    assert make(root, clock, imds).get("user-data") == b"ok"
    expected = [0.25, 0.25, 0.5, 0.75, 1.25, 2, 3.25, 5.25, 8.5, 10, 10, 10]
    assert len(clock.sleeps) == 12
    for got, want in zip(clock.sleeps, expected, strict=True):
        assert want * 0.9 <= got <= want * 1.1
    assert len(set(clock.sleeps[-3:])) == 3  # jitter spreads a fleet


def test_500_on_token_put_is_retried(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.set("user-data", "ok")
    imds.fail_token(408, times=2)
    assert make(root, clock, imds).get("user-data") == b"ok"
    assert imds.count("PUT") == 3 and len(clock.sleeps) == 2


def test_refused_connections_exhaust_the_default_budget(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.outage("refuse")
    with pytest.raises(ImdsError, match=r"budget 300s"):
        make(root, clock, imds).get("user-data")
    assert 280 <= sum(clock.sleeps) <= 300
    assert 30 <= len(clock.sleeps) <= 45


def test_hung_service_times_out_per_request(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.outage("hang")
    client = make(root, clock, imds, KINDLING_IMDS_TIMEOUT="0.1", KINDLING_IMDS_BUDGET="2")
    with pytest.raises(ImdsError, match=r"TimeoutError|timed out"):
        client.get("user-data")


def test_slow_but_answering_service(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    imds.set("user-data", "ok")
    imds.delay("user-data", 0.2)
    assert make(root, clock, imds).get("user-data") == b"ok"
    assert clock.sleeps == []


def test_local_hostname_rule(root: Path, clock: FakeClock, imds: ImdsEmulator, conformance: Path) -> None:
    case = next(t for t in json.loads((conformance / VECTORS).read_text())["tests"] if t["name"] == "fetch_hostname")
    imds.set("meta-data/local-hostname", case["body"])
    assert make(root, clock, imds).local_hostname() == case["expect"]


def test_region_and_missing_region(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    client = make(root, clock, imds)
    assert client.region() is None
    imds.set("dynamic/instance-identity/document", '{"region" : "us-west-2"}')
    assert client.region() == "us-west-2"
    imds.set("dynamic/instance-identity/document", "not json")
    assert client.region() == "us-west-2"  # a document once read is kept for the boot
    with pytest.raises(ImdsError, match="not JSON"):
        make(root, clock, imds).region()


def test_endpoint_from_env() -> None:
    assert endpoint_from_env({}) == DEFAULT_ENDPOINT
    assert endpoint_from_env({"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"}) == IPV6_ENDPOINT
    assert endpoint_from_env({"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9/"}) == ("http://127.0.0.1:9")
    with pytest.raises(InputError, match="IPv4 or IPv6"):
        endpoint_from_env({"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "ipx"})
    with pytest.raises(InputError, match="http://"):
        ImdsClient(Host("/", env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "https://x"}))


def test_ipv6_endpoint_over_loopback(root: Path, clock: FakeClock) -> None:
    try:
        emulator = ImdsEmulator("::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        emulator.set("user-data", "v6")
        host = Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": emulator.url})
        assert ImdsClient(host).get("user-data") == b"v6"
    finally:
        emulator.stop()


def test_parse_retry_after() -> None:
    assert parse_retry_after(None, 0) is None
    assert parse_retry_after("3", 0) == 3.0
    assert parse_retry_after("-3", 0) == 0.0
    assert parse_retry_after("soon", 0) is None


# -- the emulator's own IMDSv2 semantics (other suites rely on them) --------------------


def _raw(imds: ImdsEmulator, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=5)
    try:
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_emulator_imdsv2_semantics(imds: ImdsEmulator) -> None:
    imds.set("meta-data/instance-id", "i-1")
    assert _raw(imds, "PUT", "/latest/api/token", {})[0] == 400
    assert _raw(imds, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "0"})[0] == 400
    assert _raw(imds, "GET", "/latest/api/token", {})[0] == 405
    assert _raw(imds, "GET", "/latest/meta-data/instance-id", {})[0] == 401
    status, token = _raw(imds, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    assert status == 200
    hdr = {"X-aws-ec2-metadata-token": token.decode()}
    assert _raw(imds, "GET", "/latest/meta-data/instance-id", hdr) == (200, b"i-1")
    assert _raw(imds, "GET", "/2021-07-15/meta-data/instance-id", hdr) == (200, b"i-1")
    assert _raw(imds, "GET", "/2021-07-15/meta-data/nothing", hdr)[0] == 404
    assert _raw(imds, "GET", "/latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": "x"})[0] == 401
    imds.expire_tokens()
    assert _raw(imds, "GET", "/latest/meta-data/instance-id", hdr)[0] == 401
    assert [r.status for r in imds.requests] == [400, 400, 405, 401, 200, 200, 200, 404, 401, 401]


def test_emulator_token_ttl_expires_in_real_time(imds: ImdsEmulator) -> None:
    imds.set("x", "1")
    _, token = _raw(imds, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "1"})
    hdr = {"X-aws-ec2-metadata-token": token.decode()}
    assert _raw(imds, "GET", "/latest/x", hdr)[0] == 200
    import time

    time.sleep(1.1)
    assert _raw(imds, "GET", "/latest/x", hdr)[0] == 401


def test_root_prefix_never_uses_the_default_address(root: Path) -> None:
    from early_boot.errors import ProviderError
    from early_boot.runner import run_early_boot

    with pytest.raises(InputError, match="set AWS_EC2_METADATA_SERVICE_ENDPOINT explicitly"):
        ImdsClient(Host(root, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"}))
    with pytest.raises(ProviderError, match=r"provider ec2-identity-doc \(IMDS endpoint\)"):
        run_early_boot(Host(root, env={}), "aws")


def test_closed_keep_alive_connection_is_reopened_without_backoff(
    root: Path, clock: FakeClock, imds: ImdsEmulator
) -> None:
    imds.set("user-data", "ok")
    imds.set("meta-data/instance-id", "i-1")
    imds.drop_idle_connections()
    client = make(root, clock, imds)
    assert client.get("user-data") == b"ok"
    assert client.instance_id() == "i-1"
    assert client.get("user-data") == b"ok"
    assert clock.sleeps == []
    assert [r.status for r in imds.requests] == [200, 200, 200, 200]
    assert client.request_count > 4  # the dropped connections were really re-opened


def test_one_session_per_node_not_per_endpoint(root: Path, clock: FakeClock, imds: ImdsEmulator) -> None:
    """`client_for` rides the node's session (`kindling.imds.session_for`): one token per
    Host, reused by every AWS read; another Host on the same endpoint (another simulated
    node, as in bench/bench_fleet.py) fetches its own."""
    from kindling.imds import session_for
    from platforms.aws.imds import client_for

    imds.identity("us-east-1")
    imds.set("meta-data/instance-id", "i-1")
    env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
    node, other = Host(root, clock=clock, env=env), Host(root, clock=clock, env=env)
    assert client_for(node) is client_for(node) and client_for(node).session is session_for(node)
    assert client_for(node).region() == "us-east-1" and client_for(node).instance_id() == "i-1"
    assert imds.count("PUT") == 1
    assert client_for(other).instance_id() == "i-1"
    assert imds.count("PUT") == 2 and session_for(other) is not session_for(node)


def test_emulator_runs_as_a_program(root: Path, clock: FakeClock, tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[3]
    ud = tmp_path / "ud.toml"
    ud.write_text('[settings]\nmotd = "served"\n')
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.imds_emulator",
            "--region",
            "sa-east-1",
            "--user-data",
            str(ud),
            "--set",
            "meta-data/instance-id=i-9",
        ],
        cwd=repo,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        client = ImdsClient(Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": url}))
        assert client.region() == "sa-east-1"
        assert client.instance_id() == "i-9"
        assert client.get("user-data") == b'[settings]\nmotd = "served"\n'
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
