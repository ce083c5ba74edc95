"""The settings API on a live server over its Unix socket (issue 2, item 5)."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kindling.api.client import ApiClient
from kindling.host import Host
from tests.kindling.apiserver_rig import live_apiserver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("apiroot")
    with live_apiserver(root):
        yield root


def raw(root: Path, request: bytes) -> tuple[int, dict[str, str], Any]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(root / "run/kindling/api.sock"))
    s.sendall(request)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
        if b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n")
                           if h.lower().startswith(b"content-length")), 0)
            if len(body) >= length:
                break
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(h.split(": ", 1) for h in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body) if body.strip() else None


def client(root: Path) -> ApiClient:
    c = ApiClient(Host(root), mode="socket")
    assert c.mode == "socket"
    return c


def test_socket_and_directory_modes(server: Path) -> None:
    sock = server / "run/kindling/api.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    assert sock.stat().st_uid == os.geteuid()


def test_patch_commit_apply_round_trip(server: Path) -> None:
    c = client(server)
    assert c.request("PATCH", "/settings?tx=t1", {"motd": "over the socket"}).status == 200
    assert c.request("GET", "/tx?tx=t1").body == {"motd": "over the socket"}
    resp = c.request("POST", "/tx/commit_and_apply?tx=t1")
    assert resp.status == 200
    assert resp.body["changed"] == ["settings.motd"]
    assert resp.body["applied"] == [{"name": "motd", "ok": True, "detail": "wrote /etc/motd"}]
    assert (server / "etc/motd").read_text() == "over the socket\n"
    assert c.request("GET", "/settings?keys=settings.motd").body == {"motd": "over the socket"}
    assert c.request("GET", "/settings?prefix=settings.motd").body == {"motd": "over the socket"}
    assert c.request("GET", "/tx?tx=t1").status == 404


def test_commit_delete_and_apply_routes(server: Path) -> None:
    c = client(server)
    c.request("PATCH", "/settings?tx=t2", {"kdump": {"keep": 4}})
    assert c.request("DELETE", "/tx?tx=t2").body == {"tx": "t2", "dropped": ["settings.kdump.keep"]}
    c.request("PATCH", "/settings?tx=t3", {"kdump": {"keep": 5}})
    assert c.request("POST", "/tx/commit?tx=t3").body == {"tx": "t3", "changed": ["settings.kdump.keep"]}
    assert c.request("POST", "/tx/apply", ["settings.motd"]).body["applied"][0]["name"] == "motd"
    assert c.request("POST", "/tx/apply", ["settings.kdump.keep"]).body == {"applied": []}
    assert "kindling_version" in c.request("GET", "/os").body


@pytest.mark.parametrize(
    ("method", "target", "body", "status", "needle"),
    [
        ("PATCH", "/settings?tx=bad", {"network": {"hostname": "-x"}}, 400,
         "settings.network.hostname: not a valid Linux hostname"),
        ("PATCH", "/settings?tx=bad", {"nope": 1}, 400, "settings.nope: unknown key"),
        ("PATCH", "/settings?tx=bad", b"{not json", 400, "malformed JSON"),
        ("PATCH", "/settings?tx=bad", b"[1]", 400, "JSON object"),
        ("PATCH", "/settings?tx=no%20spaces", {"motd": "x"}, 400, "transaction name"),
        ("GET", "/tx?tx=missing", None, 404, "not found"),
        ("POST", "/tx/commit?tx=missing", None, 404, "not found"),
        ("DELETE", "/settings", None, 405, "not allowed"),
        ("GET", "/nowhere", None, 404, "no such resource"),
        ("GET", "/settings?colour=red", None, 400, "unknown query parameter"),
        ("GET", "/settings?keys=motd", None, 400, "keys must start with 'settings'"),
        ("POST", "/tx/apply", b'{"a": 1}', 400, "JSON list"),
    ],
)
def test_bad_requests_get_json_4xx(server: Path, method: str, target: str, body: Any,
                                   status: int, needle: str) -> None:
    before = client(server).request("GET", "/settings").body
    resp = client(server).request(method, target, body)
    assert resp.status == status
    assert needle in resp.body["error"]
    assert client(server).request("GET", "/settings").body == before
    assert client(server).request("GET", "/tx?tx=bad").status == 404


def test_wrong_method_names_allowed_ones(server: Path) -> None:
    status, headers, body = raw(server, b"PUT /tx/commit HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert status == 405 and headers["Allow"] == "POST" and "error" in body


def test_oversized_and_chunked_bodies_are_refused_unread(server: Path) -> None:
    status, _, body = raw(server, b"PATCH /settings?tx=x HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Length: 99999999\r\n\r\n{}")
    assert status == 413 and "larger than" in body["error"]
    status, _, body = raw(server, b"PATCH /settings?tx=x HTTP/1.1\r\nHost: x\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert status == 411


def test_garbage_request_line_gets_json_not_html(server: Path) -> None:
    status, headers, body = raw(server, b"\x16\x03\x01 garbage\r\n\r\n")
    assert status == 400 and headers["Content-Type"] == "application/json" and "error" in body


def test_openapi_document_lists_every_route(server: Path) -> None:
    doc = client(server).request("GET", "/openapi.json").body
    from kindling.api.routes import ROUTES

    assert set(doc["paths"]) == set(ROUTES) == {"/settings", "/tx", "/tx/commit", "/tx/apply",
                                 "/tx/commit_and_apply", "/metadata/affected-services", "/os", "/openapi.json"}
    motd = doc["paths"]["/settings"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert motd["additionalProperties"] is False and "network" in motd["properties"]


def test_direct_mode_answers_like_the_server(server: Path, tmp_path: Path) -> None:
    direct = ApiClient(Host(tmp_path), mode="direct")
    over = client(server)
    for method, target, body in [("PATCH", "/settings?tx=d", {"nope": 1}), ("GET", "/tx?tx=zz", None),
                                 ("DELETE", "/os", None)]:
        a, b = direct.request(method, target, body), over.request(method, target, body)
        assert (a.status, a.body) == (b.status, b.body)


def test_non_root_peer_is_refused_by_peercred() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch the client to another uid")
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="kindling-peercred-"))
    os.chmod(root, 0o755)  # pytest's tmp dirs are 0700: nobody could not even reach the socket
    try:
        answer = _ask_as_nobody(root)
    finally:
        shutil.rmtree(root)
    assert answer.startswith(b"HTTP/1.1 403")
    assert b"not allowed" in answer


def _ask_as_nobody(root: Path) -> bytes:
    with live_apiserver(root) as sock:
        os.chmod(sock, 0o666)  # loosen the file mode: the uid check must still refuse
        os.chmod(sock.parent, 0o755)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: become nobody, try the API
            try:
                os.close(read_end)
                os.setgid(65534)
                os.setuid(65534)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(str(sock))
                s.sendall(b"GET /settings HTTP/1.1\r\nHost: x\r\n\r\n")
                answer = b""
                while chunk := s.recv(4096):  # the server closes after a refusal
                    answer += chunk
                os.write(write_end, answer)
            except BaseException as exc:  # report to the parent, which asserts
                os.write(write_end, repr(exc).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        answer = os.read(read_end, 4096)
        os.waitpid(pid, 0)
        os.close(read_end)
    return answer
