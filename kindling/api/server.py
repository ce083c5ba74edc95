"""`kindling apiserver`: HTTP/1.1 on the Unix socket `/run/kindling/api.sock` (DESIGN §3).

The socket is 0600 in a 0700 directory, both owned by the server's user (root on a
node): the API can change kernel parameters, so only root may talk to it. As a second
gate, each connection's peer uid (SO_PEERCRED) must be the server's own or one given
with `--allow-uid`, so a loosened mode or a passed file descriptor opens nothing. Requests
are handled by `routes.dispatch`; this module only speaks HTTP: body size checked
from Content-Length before reading (413), chunked bodies refused (411), conflicting
or short framing refused (400), a read timeout against stalled clients, errors as
JSON — never a stack trace. Ready is
signalled to systemd (`Type=notify`) once the socket listens.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from kindling import log
from kindling.api.routes import MAX_BODY, Response, dispatch
from kindling.api.service import SettingsService, release_thread_stores
from kindling.host import Host, make_dirs

__all__ = ["SOCKET_PATH", "ApiServer", "build_parser", "main", "serve"]

SOCKET_PATH = "/run/kindling/api.sock"
_log = log.get("apiserver")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kindling-apiserver"
    sys_version = ""
    timeout = 30
    server: ApiServer

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug(format % args)

    def _send(self, resp: Response) -> None:
        payload = resp.encode()
        self.send_response(resp.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _body(self) -> bytes | Response:
        """The request body, exactly as framed, or the error answer (RFC 9112 §6.3).

        Any Transfer-Encoding is refused (411: we take Content-Length only); several
        Content-Length headers that disagree, or one that is not digits, are 400 —
        a request smuggled past a proxy must not be read two ways. A body shorter
        than announced (the client hung up or stalled past the timeout) is 400 and
        never dispatched.
        """
        if self.headers.get_all("Transfer-Encoding"):
            self.close_connection = True
            return Response(411, {"error": "Transfer-Encoding is not accepted; send Content-Length"})
        values = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if not values:
            return b""
        if len(values) > 1:
            self.close_connection = True
            return Response(400, {"error": "conflicting Content-Length headers", "key": "Content-Length"})
        raw = values.pop()
        if not raw.isdigit() or not raw.isascii():
            self.close_connection = True
            return Response(400, {"error": "invalid Content-Length", "key": "Content-Length"})
        length = int(raw)
        if length > MAX_BODY:
            self.close_connection = True
            return Response(413, {"error": f"request body larger than {MAX_BODY} bytes"})
        try:
            body = self.rfile.read(length)
        except OSError:  # the read timeout: a stalled client
            body = b""
        if len(body) != length:
            self.close_connection = True
            return Response(400, {"error": f"request body shorter than its Content-Length "
                                           f"({len(body)} of {length} bytes)", "key": "Content-Length"})
        return body

    def _peer_allowed(self) -> bool:
        """SO_PEERCRED: only the server's own user (root on a node) or listed uids."""
        raw = self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
        return uid in self.server.allowed_uids

    def _handle(self) -> None:
        if not self._peer_allowed():
            self.close_connection = True
            self._send(Response(403, {"error": "peer is not allowed to use the settings API"}))
            return
        body = self._body()
        if isinstance(body, Response):
            self._send(body)
            return
        service = SettingsService(self.server.host)
        if self.command in ("GET", "HEAD"):
            resp = dispatch(service, self.command, self.path, body)
        else:
            with self.server.write_lock:
                resp = dispatch(service, self.command, self.path, body)
        self._send(resp)

    do_GET = do_PATCH = do_POST = do_DELETE = do_PUT = _handle

    def do_HEAD(self) -> None:
        self._handle()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed request lines get JSON too, never the stdlib's HTML page."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # answer with a status line, not a bare body
        try:
            self._send(Response(code, {"error": message or "bad request"}))
        except OSError:
            pass


class ApiServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 64

    def __init__(
        self, host: Host, socket_path: str = SOCKET_PATH, allowed_uids: tuple[int, ...] = ()
    ) -> None:
        self.host = host
        self.allowed_uids = frozenset({os.geteuid(), *allowed_uids})
        # SQLite serialises writers anyway; one lock keeps commit+apply ordered and
        # readers still see a consistent snapshot (WAL).
        self.write_lock = threading.Lock()
        self.socket_file = host.path(socket_path)
        _prepare_socket_dir(self.socket_file)
        old = os.umask(0o177)
        try:
            super().__init__(str(self.socket_file), _Handler)
        finally:
            os.umask(old)
        os.chmod(self.socket_file, 0o600)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """One connection's thread; its cached datastore connection closes with it."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            release_thread_stores()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer is one log line, not a traceback."""
        exc = sys.exc_info()[1]
        _log.warning("request failed", error=type(exc).__name__)

    def server_close(self) -> None:
        super().server_close()
        try:
            self.socket_file.unlink()
        except FileNotFoundError:
            pass


def _prepare_socket_dir(sock: Path) -> None:
    make_dirs(sock.parent, 0o700)
    os.chmod(sock.parent, 0o700)
    if sock.exists() or sock.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(sock))
        except OSError:
            sock.unlink()  # stale socket of a dead server
        else:
            from kindling.errors import ConflictError

            raise ConflictError(f"{sock}: another apiserver is listening")
        finally:
            probe.close()


def _notify_ready(env: dict[str, str]) -> None:
    """sd_notify(READY=1) without libsystemd."""
    addr = env.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(addr)
        s.sendall(b"READY=1")


def serve(host: Host, socket_path: str = SOCKET_PATH, allowed_uids: tuple[int, ...] = ()) -> None:
    """Serve until SIGTERM/SIGINT; the socket is removed on the way out."""
    server = ApiServer(host, socket_path, allowed_uids)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _log.info("listening", socket=socket_path)
    _notify_ready(dict(os.environ))
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        _log.info("stopped")


def build_parser() -> argparse.ArgumentParser:
    from kindling.cli_common import add_common

    parser = argparse.ArgumentParser(
        prog="kindling apiserver",
        description="Serve the settings API (Bottlerocket's) on a Unix socket, root only, "
        "until SIGTERM; tells systemd when it is ready.")
    parser.add_argument("--socket-path", default=SOCKET_PATH, help="socket path under the root")
    parser.add_argument("--allow-uid", type=int, action="append", default=[], metavar="UID",
                        help="also accept peers with this uid (SO_PEERCRED); repeatable")
    add_common(parser, acts=False, prints=False)
    return parser


def main(argv: list[str]) -> int:
    from kindling.cli_common import host_from_args

    args = build_parser().parse_args(argv)
    serve(host_from_args(args), args.socket_path, tuple(args.allow_uid))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
