"""generate-hostname (sources in order, validation, fallbacks), the IMDS lookup against
an emulator on 127.0.0.1, and set-hostname under the root prefix."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.errors import InputError
from kindling.host import FakeClock, Host, RecordingHost
from kindling.retry import RetryBudgetExceeded, RetryPolicy
from netdog import paths
from netdog.hostname import generate_hostname, set_hostname
from netdog.imds_hostname import imds_local_hostname


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


class _Imds(http.server.BaseHTTPRequestHandler):
    hostname: bytes | None = b"ip-10-1-2-3.ec2.internal"
    failures = 0
    seen: list[str] = []

    def do_PUT(self) -> None:
        ttl = self.headers["X-aws-ec2-metadata-token-ttl-seconds"]
        self.seen.append(f"PUT {self.path} ttl={ttl}")
        if type(self).failures:
            type(self).failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"TOKEN")

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path} token={self.headers['X-aws-ec2-metadata-token']}")
        if self.hostname is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(self.hostname)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def imds() -> Iterator[tuple[str, type[_Imds]]]:
    handler = type("H", (_Imds,), {"seen": [], "failures": 0})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    server.timeout = 0.05
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()  # serve_forever polls every 0.5 s by default
        server.server_close()


def test_imds_local_hostname(root: Path, imds: tuple[str, type[_Imds]]) -> None:
    url, handler = imds
    clock = FakeClock()
    host = Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": url})
    handler.failures = 2
    assert imds_local_hostname(host) == "ip-10-1-2-3.ec2.internal"
    assert handler.seen[-1] == "GET /latest/meta-data/local-hostname token=TOKEN"
    assert handler.seen[0] == "PUT /latest/api/token ttl=60"
    assert len(clock.sleeps) == 2  # two 503s retried on the Host clock, no real waiting


def test_imds_404_is_absent_not_retried(root: Path, imds: tuple[str, type[_Imds]]) -> None:
    url, handler = imds
    handler.hostname = None
    clock = FakeClock()
    host = Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": url})
    assert imds_local_hostname(host) is None
    assert clock.sleeps == []


def test_imds_unreachable_gives_up_within_budget(root: Path) -> None:
    clock = FakeClock()
    host = Host(root, clock=clock, env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"})
    with pytest.raises(RetryBudgetExceeded, match="imds"):
        imds_local_hostname(host, RetryPolicy(first=0.25, cap=1, budget=3, jitter=0))


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
