"""The signed Query-API caller against the SigV4-verifying local endpoint."""

from __future__ import annotations

import http.client
import select
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kindling.errors import InputError, PlanBoundary
from kindling.host import FakeClock, Host, RecordingHost
from platforms.aws.credentials import Credentials
from platforms.aws.errors import AwsApiError, AwsThrottled
from platforms.aws.query_api import (
    AUTOSCALING,
    CLOUDFORMATION,
    QueryApi,
    bypasses_proxy,
    endpoint_for,
    find_text,
    flatten_params,
    parse_error,
    proxy_for,
)
from tests.platforms.aws.aws_endpoint import AwsEndpoint
from tests.platforms.aws.conftest import INSTANCE_ID, ROLE_KEY, ROLE_SECRET, ROLE_TOKEN

GOOD = Credentials(ROLE_KEY, ROLE_SECRET, ROLE_TOKEN, source="test")
SIGNAL = {"StackName": "node-stack", "LogicalResourceId": "NodeGroup", "Status": "SUCCESS", "UniqueId": INSTANCE_ID}


def make(root: Path, ep: AwsEndpoint | None, creds: Credentials = GOOD, cls: type[Host] = Host,
         **env: str) -> tuple[QueryApi, FakeClock]:
    clock = FakeClock()
    urls = {"AWS_ENDPOINT_URL_CLOUDFORMATION": ep.url, "AWS_ENDPOINT_URL_AUTO_SCALING": ep.url} if ep else {}
    host = cls(root, clock=clock, env={**urls, "KINDLING_AWS_BUDGET": "30", **env})
    return QueryApi(host, region="us-west-2", credentials=lambda: creds), clock


def test_signed_call_is_accepted_and_recorded(root: Path, endpoint: AwsEndpoint) -> None:
    api, _ = make(root, endpoint)
    assert api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True) is not None
    (call,) = endpoint.calls
    assert (call.service, call.action, call.access_key) == ("cloudformation", "SignalResource", ROLE_KEY)
    assert call.params == SIGNAL
    assert endpoint.state.rejected == []


def test_list_params_and_xml_answer(root: Path, endpoint: AwsEndpoint) -> None:
    api, _ = make(root, endpoint)
    root_el = api.call(AUTOSCALING, "DescribeAutoScalingInstances", {"InstanceIds": [INSTANCE_ID]}, mutating=False)
    assert root_el is not None
    member = "DescribeAutoScalingInstancesResult/AutoScalingInstances/member"
    assert find_text(root_el, f"{member}/AutoScalingGroupName") == "node-asg"
    assert find_text(root_el, f"{member}/LifecycleState") == "Pending:Wait"
    assert endpoint.calls[0].params == {"InstanceIds.member.1": INSTANCE_ID}


@pytest.mark.parametrize(
    ("creds", "code"),
    [
        (Credentials(ROLE_KEY, "not-the-secret-key-at-all", ROLE_TOKEN), "SignatureDoesNotMatch"),
        (Credentials("AKIAUNKNOWNKEY000000", ROLE_SECRET, ROLE_TOKEN), "InvalidClientTokenId"),
        (Credentials(ROLE_KEY, ROLE_SECRET, "a-stale-session-token"), "InvalidClientTokenId"),
    ],
)
def test_bad_signature_is_refused_with_aws_error_and_not_retried(
    root: Path, endpoint: AwsEndpoint, creds: Credentials, code: str
) -> None:
    api, clock = make(root, endpoint, creds)
    with pytest.raises(AwsApiError, match=rf"cloudformation SignalResource: HTTP 403 {code}") as info:
        api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert info.value.code == code
    assert endpoint.calls == [] and endpoint.state.rejected == [code]
    assert clock.sleeps == []  # a refusal is an answer, not a reason to retry
    assert "not-the-secret" not in str(info.value)


def test_wrong_region_scope_is_refused(root: Path, endpoint: AwsEndpoint) -> None:
    clock = FakeClock()
    host = Host(root, clock=clock, env={"AWS_ENDPOINT_URL_CLOUDFORMATION": endpoint.url})
    api = QueryApi(host, region="eu-west-1", credentials=lambda: GOOD)
    with pytest.raises(AwsApiError, match="SignatureDoesNotMatch"):
        api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)


def test_throttling_is_retried_with_backoff_then_succeeds(root: Path, endpoint: AwsEndpoint) -> None:
    endpoint.fail("SignalResource", 400, "Throttling", times=3)
    api, clock = make(root, endpoint)
    api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert endpoint.actions() == ["SignalResource"]
    assert len(clock.sleeps) == 3
    assert clock.sleeps[2] > clock.sleeps[0]  # Fibonacci backoff grows


def test_server_errors_are_retried(root: Path, endpoint: AwsEndpoint) -> None:
    endpoint.fail("*", 503, "ServiceUnavailable", times=2)
    api, clock = make(root, endpoint)
    api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert len(clock.sleeps) == 2 and endpoint.actions() == ["SignalResource"]


def test_retry_after_is_honoured(root: Path, endpoint: AwsEndpoint) -> None:
    endpoint.fail("SignalResource", 503, "ServiceUnavailable", times=1)
    endpoint.state.retry_after = "7"
    api, clock = make(root, endpoint)
    api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert clock.sleeps == [7.0]


def test_throttled_past_the_budget_is_a_bounded_failure(root: Path, endpoint: AwsEndpoint) -> None:
    endpoint.fail("SignalResource", 400, "Throttling", times=1000)
    api, clock = make(root, endpoint, KINDLING_AWS_BUDGET="20")
    with pytest.raises(AwsThrottled, match=r"gave up after \d+ attempts.*Throttling"):
        api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert sum(clock.sleeps) <= 20
    assert endpoint.calls == []


def test_endpoint_down_is_a_bounded_failure_naming_the_endpoint(root: Path) -> None:
    with AwsEndpoint() as ep:
        url = ep.url
    api, clock = make(root, None, AWS_ENDPOINT_URL_CLOUDFORMATION=url, KINDLING_AWS_BUDGET="10")
    with pytest.raises(AwsApiError, match=rf"cannot reach {url}/ \(EndpointConnectionError\)") as info:
        api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert not isinstance(info.value, AwsThrottled)
    assert 0 < sum(clock.sleeps) <= 10


def test_refusal_carries_aws_message(root: Path, endpoint: AwsEndpoint) -> None:
    api, _ = make(root, endpoint)
    with pytest.raises(AwsApiError, match="ValidationError: Stack with id other does not exist"):
        api.call(CLOUDFORMATION, "SignalResource", {**SIGNAL, "StackName": "other"}, mutating=True)


def test_plan_sends_no_call_not_even_a_read(root: Path, endpoint: AwsEndpoint) -> None:
    api, _ = make(root, endpoint, cls=RecordingHost)
    with pytest.raises(PlanBoundary) as stop:
        api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert stop.value.what.startswith(
        "POST cloudformation SignalResource (LogicalResourceId, StackName, Status, UniqueId)")
    assert INSTANCE_ID not in stop.value.what
    with pytest.raises(PlanBoundary):
        api.call(AUTOSCALING, "DescribeAutoScalingInstances", {"InstanceIds": [INSTANCE_ID]}, mutating=False)
    assert endpoint.received == 0


class _ForwardProxy(ThreadingHTTPServer):
    """A plain HTTP forward proxy that records the absolute URIs it carried."""

    daemon_threads = True
    seen: list[str]


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _ForwardProxy

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.server.seen.append(self.path)
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=5)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        conn.request("POST", target.path or "/", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", resp.getheader("Content-Type", "text/xml"))
        self.end_headers()
        self.wfile.write(data)
        conn.close()


@pytest.fixture
def forward_proxy() -> Iterator[_ForwardProxy]:
    proxy = _ForwardProxy(("127.0.0.1", 0), _ProxyHandler)
    proxy.seen = []
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)


def test_https_proxy_setting_carries_the_calls(root: Path, endpoint: AwsEndpoint, forward_proxy: Any) -> None:
    host = Host(root, clock=FakeClock(), env={"AWS_ENDPOINT_URL_CLOUDFORMATION": endpoint.url})
    proxy = f"127.0.0.1:{forward_proxy.server_address[1]}"  # Bottlerocket allows a bare host:port
    api = QueryApi(host, region="us-west-2", credentials=lambda: GOOD, https_proxy=proxy)
    api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert forward_proxy.seen == [endpoint.url + "/"]
    assert endpoint.actions() == ["SignalResource"]  # the signature survived the proxy


def test_no_proxy_bypasses(root: Path, endpoint: AwsEndpoint, forward_proxy: Any) -> None:
    host = Host(root, clock=FakeClock(), env={"AWS_ENDPOINT_URL_CLOUDFORMATION": endpoint.url})
    api = QueryApi(host, region="us-west-2", credentials=lambda: GOOD,
                   https_proxy=f"http://127.0.0.1:{forward_proxy.server_address[1]}", no_proxy=["127.0.0.0/8"])
    api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert forward_proxy.seen == [] and endpoint.actions() == ["SignalResource"]


def test_proxy_down_is_named_without_its_address(root: Path, endpoint: AwsEndpoint) -> None:
    with AwsEndpoint() as dead:
        port = dead.url.rsplit(":", 1)[1]
    host = Host(root, clock=FakeClock(), env={"AWS_ENDPOINT_URL_CLOUDFORMATION": endpoint.url,
                                              "KINDLING_AWS_BUDGET": "3"})
    api = QueryApi(host, region="us-west-2", credentials=lambda: GOOD,
                   https_proxy=f"http://user:pw-secret@127.0.0.1:{port}")
    with pytest.raises(AwsApiError, match="via the proxy") as info:
        api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
    assert "pw-secret" not in str(info.value)


# -- pure parts ------------------------------------------------------------------------------
def test_endpoint_resolution() -> None:
    assert endpoint_for(CLOUDFORMATION, "us-west-2", {}) == "https://cloudformation.us-west-2.amazonaws.com/"
    assert endpoint_for(AUTOSCALING, "cn-north-1", {}) == "https://autoscaling.cn-north-1.amazonaws.com.cn/"
    assert endpoint_for(AUTOSCALING, "us-west-2", {"AWS_ENDPOINT_URL": "http://x:1"}) == "http://x:1/"
    env = {"AWS_ENDPOINT_URL": "http://x:1", "AWS_ENDPOINT_URL_AUTO_SCALING": "http://y:2/"}
    assert endpoint_for(AUTOSCALING, "us-west-2", env) == "http://y:2/"
    with pytest.raises(InputError, match="AWS_ENDPOINT_URL_CLOUDFORMATION: not an http"):
        endpoint_for(CLOUDFORMATION, "us-west-2", {"AWS_ENDPOINT_URL_CLOUDFORMATION": "ftp://x"})
    with pytest.raises(InputError, match="region: not a valid AWS region"):
        endpoint_for(CLOUDFORMATION, "evil.com/x#", {})


def test_proxy_rules() -> None:
    assert proxy_for("https://a.amazonaws.com/", "proxy:3128", [], {}) == "http://proxy:3128"
    assert proxy_for("https://a.amazonaws.com/", "", [], {"HTTPS_PROXY": "http://p:1"}) == "http://p:1"
    assert proxy_for("https://a.amazonaws.com/", "p:1", [".amazonaws.com"], {}) is None
    assert proxy_for("https://a.amazonaws.com/", "", [], {}) is None
    assert bypasses_proxy("cloudformation.us-west-2.amazonaws.com", ["amazonaws.com"])
    assert not bypasses_proxy("notamazonaws.com", ["amazonaws.com"])
    assert bypasses_proxy("10.1.2.3", ["10.0.0.0/8"]) and bypasses_proxy("x", ["*"])


def test_flatten_and_errors() -> None:
    assert flatten_params({"A": "1", "L": ["x", "y"]}) == [("A", "1"), ("L.member.1", "x"), ("L.member.2", "y")]
    assert parse_error(b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate\n exceeded</Message>"
                       b"</Error></ErrorResponse>") == ("Throttling", "Rate exceeded")
    assert parse_error(b"not xml") == (None, "")
    # entity expansion bombs are refused, not expanded
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><ErrorResponse><Error><Code>&a;</Code></Error></ErrorResponse>'
    assert parse_error(bomb) == (None, "")


# -- HTTPS, as real endpoints are: trust via AWS_CA_BUNDLE, the proxy as a CONNECT tunnel ------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class _TunnelProxy(ThreadingHTTPServer):
    daemon_threads = True
    tunnels: list[str]


class _TunnelHandler(BaseHTTPRequestHandler):
    server: _TunnelProxy

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_CONNECT(self) -> None:
        self.server.tunnels.append(self.path)
        host, port = self.path.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=5)
        self.send_response(200, "Connection established")
        self.end_headers()
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 5)
                if not readable:
                    break
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()
            self.close_connection = True


@pytest.fixture
def tunnel_proxy() -> Iterator[_TunnelProxy]:
    proxy = _TunnelProxy(("127.0.0.1", 0), _TunnelHandler)
    proxy.tunnels = []
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)


def test_https_endpoint_through_a_connect_proxy(
    root: Path, certificate: tuple[str, str], tunnel_proxy: _TunnelProxy
) -> None:
    with AwsEndpoint(tls=certificate) as ep:
        ep.add_key(ROLE_KEY, ROLE_SECRET, ROLE_TOKEN)
        ep.add_stack("node-stack", "NodeGroup")
        host = Host(root, clock=FakeClock(),
                    env={"AWS_ENDPOINT_URL_CLOUDFORMATION": ep.url, "AWS_CA_BUNDLE": certificate[0]})
        api = QueryApi(host, region="us-west-2", credentials=lambda: GOOD,
                       https_proxy=f"http://127.0.0.1:{tunnel_proxy.server_address[1]}")
        api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
        api.close()
        assert tunnel_proxy.tunnels == [ep.url.removeprefix("https://")]
        assert ep.actions() == ["SignalResource"]


def test_untrusted_certificate_fails_at_once(root: Path, certificate: tuple[str, str]) -> None:
    with AwsEndpoint(tls=certificate) as ep:
        ep.add_key(ROLE_KEY, ROLE_SECRET, ROLE_TOKEN)
        clock = FakeClock()
        host = Host(root, clock=clock, env={"AWS_ENDPOINT_URL_CLOUDFORMATION": ep.url})
        api = QueryApi(host, region="us-west-2", credentials=lambda: GOOD)
        with pytest.raises(AwsApiError, match=r"SignalResource: TLS with https://127.0.0.1:\d+/ failed"):
            api.call(CLOUDFORMATION, "SignalResource", SIGNAL, mutating=True)
        assert clock.sleeps == [] and ep.calls == []
