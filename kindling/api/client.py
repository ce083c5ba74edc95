"""The API client transport: the Unix socket when a server is up, else the datastore
directly through the same `routes.dispatch` (issue 2: "the same code below the HTTP
layer"), so `apiclient` works in early boot and in image builders with no server."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

from kindling.api.routes import Response, dispatch
from kindling.errors import HostError
from kindling.host import Host

__all__ = ["ApiClient"]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class ApiClient:
    """Send API requests over the socket (`mode="socket"`), directly (`"direct"`), or
    whichever is available (`"auto"`: the socket if a server answers on it).

    A socket named explicitly (`--socket-path`) is no preference but a requirement:
    when nothing answers there the client fails, naming it, rather than falling back
    to the datastore the user did not ask for (a typo would write settings a running
    server never sees)."""

    def __init__(
        self, host: Host, *, socket_path: str | None = None, mode: str = "auto", timeout: float = 60
    ) -> None:
        from kindling.api.server import SOCKET_PATH

        self.host = host
        self.socket_file = str(host.path(socket_path or SOCKET_PATH))
        self.timeout = timeout
        if mode == "auto" and socket_path is not None:
            self._require_server(socket_path)
            mode = "socket"
        self.mode = mode if mode != "auto" else ("socket" if self._server_up() else "direct")

    def _require_server(self, given: str) -> None:
        import os

        shown = given if self.socket_file == given else f"{given} (under the root: {self.socket_file})"
        if not os.path.exists(self.socket_file):
            raise HostError(f"--socket-path {shown}: no such socket")
        if not self._server_up():
            raise HostError(f"--socket-path {shown}: no API server answers there")

    def _server_up(self) -> bool:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.socket_file)
        except OSError:
            return False
        finally:
            probe.close()
        return True

    def request(self, method: str, target: str, body: Any = None) -> Response:
        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        if self.mode == "direct":
            from kindling.api.service import SettingsService

            return dispatch(SettingsService(self.host), method, target, raw)
        conn = _UnixConnection(self.socket_file, self.timeout)
        try:
            headers = {"Content-Type": "application/json"} if raw else {}
            conn.request(method, target, body=raw or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as exc:
            raise HostError(f"{self.socket_file}: API request failed: {exc}") from exc
        finally:
            conn.close()
        try:
            payload = json.loads(data) if data.strip() else None
        except ValueError:
            payload = {"error": data.decode("utf-8", "replace")[:500]}
        return Response(resp.status, payload, dict(resp.getheaders()))
