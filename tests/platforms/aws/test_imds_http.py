"""The IMDS client's own HTTP/1.1 framing (platforms/aws/imds.py `_Connection`) against
a real socket on 127.0.0.1 that answers with canned bytes: what the emulator cannot
send (chunked bodies, 1xx, folded headers, malformed status lines and chunk sizes,
endless header blocks) and what the client must refuse to send (a path or header that
would change the request's framing). Fake clock: retries cost no time."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.host import FakeClock, Host
from platforms.aws.imds import MAX_HEADERS, MAX_LINE, ImdsClient, ImdsError

TOKEN = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\ntoken"


class Canned:
    """Answers each request (read up to its blank line) with the next canned answer;
    after the last one, with the last one again; `close_after`: then closes the
    connection (an answer cut short ends there). Records the raw requests."""

    def __init__(self, answers: list[bytes], *, close_after: bool = False) -> None:
        self.answers = answers
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while True:
                    while b"\r\n\r\n" not in buf:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        buf += chunk
                    if b"\r\n\r\n" not in buf:
                        break
                    request, buf = buf.split(b"\r\n\r\n", 1)
                    self.requests.append(request)
                    answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
                    try:
                        conn.sendall(answer)
                    except OSError:
                        break
                    if self.close_after:
                        break

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def canned() -> Iterator[list[Canned]]:
    made: list[Canned] = []
    yield made
    for server in made:
        server.close()


def client(root: Path, made: list[Canned], *answers: bytes, close_after: bool = False) -> tuple[ImdsClient, Canned]:
    server = Canned([TOKEN, *answers], close_after=close_after)
    made.append(server)
    host = Host(root, clock=FakeClock(), env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url,
                                               "KINDLING_IMDS_BUDGET": "2", "KINDLING_IMDS_TIMEOUT": "2"})
    return ImdsClient(host, rng=random.Random(7)), server


def test_chunked_body_with_extension_and_trailer(root: Path, canned: list[Canned]) -> None:
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;name=x\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    imds, server = client(root, canned, answer, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert imds.get("user-data") == b"hello world"
    assert imds.get("meta-data/instance-id") == b"ok"  # the connection was framed right after it
    assert len(server.requests) == 3 and imds.request_count == 3


def test_interim_1xx_and_folded_header_are_read_past(root: Path, canned: list[Canned]) -> None:
    answer = (b"HTTP/1.1 100 Continue\r\n\r\n"
              b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 2\r\n\r\nok")
    imds, _ = client(root, canned, answer)
    assert imds.get("user-data") == b"ok"


def test_request_is_what_http_client_sent(root: Path, canned: list[Canned]) -> None:
    imds, server = client(root, canned, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    imds.get("user-data")
    put, get = server.requests
    host = server.url.removeprefix("http://")
    assert put.split(b"\r\n") == [b"PUT /latest/api/token HTTP/1.1", f"Host: {host}".encode(),
                                  b"Accept-Encoding: identity", b"X-aws-ec2-metadata-token-ttl-seconds: 60",
                                  b"Content-Length: 0"]
    assert get.split(b"\r\n") == [b"GET /2021-07-15/user-data HTTP/1.1", f"Host: {host}".encode(),
                                  b"Accept-Encoding: identity", b"X-aws-ec2-metadata-token: token"]


@pytest.mark.parametrize(("answer", "why"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", "chunked answer"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", "chunked answer"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "chunked answer"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "both chunked"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1),
     "trailer fields"),
    (b"ICY 200 OK\r\nContent-Length: 2\r\n\r\nok", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 200 OK\r\nbroken\r\nContent-Length: 2\r\n\r\nok", "malformed header line"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_LINE + b"\r\n\r\n", "header line longer"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n", f"more than {MAX_HEADERS} headers"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "cut off in its headers"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", "invalid Content-Length"),
])
def test_broken_framing_is_retried_then_refused(root: Path, canned: list[Canned], answer: bytes, why: str) -> None:
    imds, server = client(root, canned, answer, close_after=True)
    with pytest.raises(ImdsError, match="budget") as raised:
        imds.get("user-data")
    assert why in str(raised.value)
    assert len(server.requests) > 2  # retried: framing errors are transport errors


def test_oversized_chunked_body_is_refused_at_once(root: Path, canned: list[Canned]) -> None:
    imds, server = client(root, canned, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n")
    with pytest.raises(ImdsError, match="larger than 1024 KiB"):
        imds.get("user-data")
    assert len(server.requests) == 2


@pytest.mark.parametrize("target", ["iam/security-credentials/a b", "iam/x\r\nX-Injected: 1", "iam/caf\u00e9"])
def test_a_path_that_would_change_the_request_is_never_sent(root: Path, canned: list[Canned], target: str) -> None:
    imds, server = client(root, canned, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    with pytest.raises(ImdsError, match="path is not printable ASCII") as raised:
        imds.get(target)
    assert "\n" not in str(raised.value)
    assert [r for r in server.requests if r.startswith(b"GET")] == []


def test_a_token_with_line_breaks_is_never_sent_as_a_header(root: Path, canned: list[Canned]) -> None:
    server = Canned([b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\ntok\r\nX-Evil: 1"])
    canned.append(server)
    imds = ImdsClient(Host(root, clock=FakeClock(), env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url}))
    with pytest.raises(ImdsError, match="header X-aws-ec2-metadata-token is not printable ASCII") as raised:
        imds.get("user-data")
    assert "Evil" not in str(raised.value)
    assert [r for r in server.requests if r.startswith(b"GET")] == []
