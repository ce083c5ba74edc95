"""An EC2 instance metadata service (IMDSv2) emulator for tests and benchmarks.

A real HTTP/1.1 server (stdlib `ThreadingHTTPServer`) on 127.0.0.1 (or ::1, or an
address inside a test's own network namespace), port 0 by default. It keeps the
semantics Kindling depends on, as the real service documents them:

- `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` 1-21600 gives a
  token valid for that long; a missing or bad TTL is 400; GET on the token path 405.
- `GET /latest/<path>` or `/<yyyy-mm-dd>/<path>`: without a token, or with an
  unknown or expired one, 401 (IMDSv2 only); a category (`meta-data/`) answers the
  listing of its children, as the real service does; an absent path is 404.
- Scripted failures per path (or `*`): a queue of statuses (429/503/500…) with an
  optional `Retry-After`, consumed one request at a time; per-path delays; an
  outage that refuses (closes the connection unanswered) or hangs.
- Broken framing per path (or `*`, or `api/token`), `mangle(path, mode, arg)`: `drip`
  (the whole answer one byte every `arg` seconds), `truncate` (announce the real length,
  send all but the last `arg` bytes, close), `overannounce` (announce `arg` bytes more
  than sent, then hold the connection open), `conflict` (two different
  `Content-Length` headers), `nolength` (no `Content-Length`, close after the body).
- A throttle (`throttle(rate)`): beyond `rate` requests/s, 429 with `Retry-After`.
- `requests`: a log of every request (method, path, status, token sent?).

Never point it at, or bind it to, 169.254.169.254 in the main namespace (RIGS.md).
Usage: `with ImdsEmulator() as imds: imds.set("user-data", b"..."); imds.url`.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ImdsEmulator", "LoggedRequest", "Scripted"]

TOKEN_PATH = "/latest/api/token"
_VERSION = re.compile(r"/(latest|\d{4}-\d{2}-\d{2})/(.*)")


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int | None  # None: the connection was dropped unanswered
    had_token: bool
    at: float


@dataclass
class Scripted:
    """One scripted answer: a status, an optional Retry-After, an optional body."""

    status: int
    retry_after: str | None = None
    body: bytes = b""


@dataclass
class _State:
    data: dict[str, bytes] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    script: dict[str, list[Scripted]] = field(default_factory=dict)
    token_script: list[Scripted] = field(default_factory=list)
    delays: dict[str, float] = field(default_factory=dict)
    outage: str | None = None  # None | "refuse" | "hang"
    keep_alive: bool = True  # False: close every connection after one answer, unannounced
    requests: list[LoggedRequest] = field(default_factory=list)
    mangles: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # path -> (mode, arg) queue
    mangle_always: dict[str, tuple[str, float]] = field(default_factory=dict)
    # throttle: a token bucket of `rate` requests/s (server clock), `burst` deep
    rate: float | None = None
    burst: float = 1.0
    bucket: float = 0.0
    refilled: float = 0.0
    throttle_retry_after: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a fleet connects at once (bench/bench_fleet.py)
    block_on_close = False
    state: _State
    now: Callable[[], float]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up mid-answer (its deadline passed) is part of the test;
        anything else is still reported, as socketserver does."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, the body waits for
    # the client's delayed ACK (~40 ms), a delay the real IMDS does not have.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    # -- plumbing -------------------------------------------------------------------
    def _log(self, status: int | None) -> None:
        st = self.server.state
        with st.lock:
            st.requests.append(
                LoggedRequest(
                    self.command,
                    self.path,
                    status,
                    "X-aws-ec2-metadata-token" in self.headers,
                    time.monotonic(),
                )
            )

    def _mangle(self) -> tuple[str, float] | None:
        st = self.server.state
        key = getattr(self, "_key", "")
        with st.lock:
            for k in (key, "*"):
                queue = st.mangles.get(k)
                if queue:
                    return queue.pop(0)
                if k in st.mangle_always:
                    return st.mangle_always[k]
        return None

    def _reply_broken(self, status: int, body: bytes, headers: dict[str, str], mode: str, arg: float) -> None:
        """Write the answer by hand with its framing broken as `mode` says."""
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}", "Content-Type: text/plain"]
        if mode == "conflict":
            head += [f"Content-Length: {len(body)}", f"Content-Length: {len(body) + 7}"]
        elif mode == "overannounce":
            head.append(f"Content-Length: {len(body) + int(arg)}")
        elif mode != "nolength":
            head.append(f"Content-Length: {len(body)}")
        head += [f"{k}: {v}" for k, v in headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        if mode == "truncate":
            data = data[: len(data) - int(arg)]
        st = self.server.state
        try:
            if mode == "drip":
                for i in range(len(data)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    if st.release.wait(arg):
                        break
            else:
                self.wfile.write(data)
                self.wfile.flush()
            if mode == "overannounce":
                st.release.wait(30)
        except OSError:
            pass  # the client gave up: that is the point
        self.close_connection = mode != "drip" or not st.keep_alive

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self._log(status)
        broken = self._mangle()
        if broken is not None:
            self._reply_broken(status, body, headers or {}, *broken)
            return
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if not self.server.state.keep_alive:
            self.close_connection = True

    def _disrupt(self, key: str) -> bool:
        """Apply outage and delay; True when the request was dropped unanswered."""
        st = self.server.state
        delay = st.delays.get(key, st.delays.get("*", 0.0))
        if delay:
            st.release.wait(delay)
        if st.outage == "hang":
            st.release.wait(30)
        if st.outage in ("refuse", "hang"):
            self._log(None)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        return False

    def _throttled(self) -> bool:
        """Over the configured request rate: answer 429 (+ Retry-After) and say so."""
        st = self.server.state
        if st.rate is None:
            return False
        with st.lock:
            now = self.server.now()
            st.bucket = min(st.burst, st.bucket + (now - st.refilled) * st.rate)
            st.refilled = now
            allowed = st.bucket >= 1.0
            if allowed:
                st.bucket -= 1.0
        if allowed:
            return False
        ra = st.throttle_retry_after
        self._reply(429, b"Too Many Requests", {"Retry-After": ra} if ra is not None else {})
        return True

    def _scripted(self, queue: list[Scripted]) -> bool:
        with self.server.state.lock:
            item = queue.pop(0) if queue else None
        if item is None:
            return False
        headers = {"Retry-After": item.retry_after} if item.retry_after is not None else {}
        self._reply(item.status, item.body, headers)
        return True

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    # -- verbs ----------------------------------------------------------------------
    def do_PUT(self) -> None:
        self._drain()
        self._key = "api/token"
        st = self.server.state
        if self.path != TOKEN_PATH:
            self._reply(405 if _VERSION.fullmatch(self.path) else 404)
            return
        if self._disrupt("api/token") or self._throttled() or self._scripted(st.token_script):
            return
        raw = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not raw.isdigit() or not 1 <= int(raw) <= 21600:
            self._reply(400, b"Missing or invalid TTL")
            return
        token = secrets.token_urlsafe(24) + "=="
        with st.lock:
            st.tokens[token] = self.server.now() + int(raw)
        self._reply(200, token.encode(), {"X-aws-ec2-metadata-token-ttl-seconds": raw})

    def do_GET(self) -> None:
        st = self.server.state
        if self.path == TOKEN_PATH:
            self._reply(405)
            return
        match = _VERSION.fullmatch(self.path)
        key = match.group(2) if match else self.path.lstrip("/")
        self._key = key
        if self._disrupt(key) or self._throttled():
            return
        token = self.headers.get("X-aws-ec2-metadata-token")
        with st.lock:
            expiry = st.tokens.get(token or "")
        if token is None or expiry is None or expiry <= self.server.now():
            self._reply(401)
            return
        queue = st.script.get(key) or st.script.get("*")
        if queue is not None and self._scripted(queue):
            return
        body = st.data.get(key) if match else None
        if body is None and match:  # an empty body set on purpose stays an empty 200
            body = _listing(st.data, key)
        if body is None:
            self._reply(404, b"Not Found")
            return
        self._reply(200, body)


def _listing(data: dict[str, bytes], key: str) -> bytes | None:
    """A category's listing, as IMDS answers `GET meta-data/`: one child per line, a
    child that has children of its own with a trailing `/` (cloud-init crawls by it)."""
    prefix = key.strip("/") + "/" if key.strip("/") else ""
    children: dict[str, bool] = {}
    for path in data:
        if path.startswith(prefix) and len(path) > len(prefix):
            head, _, rest = path[len(prefix):].partition("/")
            children[head] = children.get(head, False) or bool(rest)
    if not children:
        return None
    return "\n".join(name + ("/" if deeper else "") for name, deeper in sorted(children.items())).encode()


class ImdsEmulator:
    """Start with `start()` or a `with` block; `url` is what the client is pointed at."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_cls = type("_Srv", (_Server,), {"address_family": family})
        self._server: _Server = server_cls((host, port), _Handler)
        self._server.state = _State()
        self._server.now = time.monotonic
        self._thread: threading.Thread | None = None
        self.host = host

    # -- lifecycle --------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    def start(self) -> ImdsEmulator:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.state.release.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ImdsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content ----------------------------------------------------------------------
    def set(self, path: str, body: bytes | str | dict[str, Any]) -> None:
        """Serve `body` at `path` (relative: `user-data`, `meta-data/instance-id`)."""
        if isinstance(body, dict):
            body = json.dumps(body)
        self._server.state.data[path.strip("/")] = body.encode() if isinstance(body, str) else body

    def remove(self, path: str) -> None:
        """Stop serving `path` and everything below it (a category is gone with its items)."""
        key = path.strip("/")
        data = self._server.state.data
        for name in [n for n in data if n == key or n.startswith(key + "/")]:
            del data[name]

    def identity(self, region: str = "us-west-2", **extra: str) -> None:
        """Serve an instance identity document with `region`."""
        doc = {
            "region": region,
            "availabilityZone": f"{region}a",
            "instanceId": "i-0123456789abcdef0",
            "instanceType": "m5.large",
            "accountId": "123456789012",
            **extra,
        }
        self.set("dynamic/instance-identity/document", json.dumps(doc, indent=2))

    # -- faults -----------------------------------------------------------------------
    def fail(self, path: str, status: int, *, times: int = 1, retry_after: str | float | None = None) -> None:
        """Answer the next `times` GETs of `path` (or `*`) with `status` (after auth)."""
        ra = None if retry_after is None else str(retry_after)
        queue = self._server.state.script.setdefault(path.strip("/") or "*", [])
        queue.extend(Scripted(status, ra) for _ in range(times))

    def fail_token(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        self._server.state.token_script.extend(Scripted(status, retry_after) for _ in range(times))

    def mangle(self, path: str, mode: str, arg: float = 0, *, times: int | None = 1) -> None:
        """Break the framing of the next `times` answers of `path` (`*`, `api/token`);
        `times=None`: of every answer. Modes: see the module docstring."""
        assert mode in ("drip", "truncate", "overannounce", "conflict", "nolength"), mode
        st = self._server.state
        key = path.strip("/") or "*"
        with st.lock:
            if times is None:
                st.mangle_always[key] = (mode, arg)
            else:
                st.mangles.setdefault(key, []).extend([(mode, arg)] * times)

    def unmangle(self) -> None:
        with self._server.state.lock:
            self._server.state.mangles.clear()
            self._server.state.mangle_always.clear()

    def delay(self, path: str, seconds: float) -> None:
        """Hold every request of `path` (or `*`) for `seconds` before answering."""
        self._server.state.delays[path.strip("/") or "*"] = seconds

    def throttle(self, rate: float | None, *, burst: float | None = None, retry_after: str | None = "1") -> None:
        """Serve at most `rate` requests per second (server clock; `None` lifts it), with a
        bucket `burst` deep; beyond it, 429 with `Retry-After` (None: without one)."""
        st = self._server.state
        with st.lock:
            st.rate = rate
            st.burst = float(burst if burst is not None else max(rate or 1.0, 1.0))
            st.bucket = st.burst
            st.refilled = self._server.now()
            st.throttle_retry_after = retry_after

    def use_clock(self, now: Callable[[], float]) -> None:
        """The server's notion of time (token TTLs, the throttle), e.g. a scaled clock."""
        self._server.now = now

    def outage(self, mode: str | None) -> None:
        """`refuse`: drop every request unanswered; `hang`: hold it, then drop; None: end."""
        assert mode in (None, "refuse", "hang")
        self._server.state.outage = mode

    def drop_idle_connections(self, drop: bool = True) -> None:
        """Close each connection after one answer without saying so (an idle timeout)."""
        self._server.state.keep_alive = not drop

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (the next GET gets 401)."""
        with self._server.state.lock:
            for token in self._server.state.tokens:
                self._server.state.tokens[token] = 0.0

    # -- observation ------------------------------------------------------------------
    @property
    def requests(self) -> list[LoggedRequest]:
        with self._server.state.lock:
            return list(self._server.state.requests)

    def count(self, method: str | None = None, path_suffix: str = "") -> int:
        return sum(1 for r in self.requests if (method is None or r.method == method) and r.path.endswith(path_suffix))

    def clear_log(self) -> None:
        with self._server.state.lock:
            self._server.state.requests.clear()


def main(argv: list[str] | None = None) -> int:
    """Serve until killed, e.g. inside a test's own namespace:

    `ip netns exec NS python -m tests.imds_emulator --host 169.254.169.254 --port 80
    --region eu-west-1 --user-data FILE --set meta-data/instance-id=i-1`
    Prints the URL on the first line of stdout once it is listening.
    """
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(prog="imds_emulator", description="IMDSv2 emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--region", help="serve an identity document for this region")
    parser.add_argument("--user-data", help="file served as user-data")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    args = parser.parse_args(argv)
    emulator = ImdsEmulator(args.host, args.port)
    if args.region:
        emulator.identity(args.region)
    if args.user_data:
        with open(args.user_data, "rb") as fh:
            emulator.set("user-data", fh.read())
    for item in args.set:
        path, _, value = item.partition("=")
        emulator.set(path, value)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emulator.start()
    sys.stdout.write(emulator.url + "\n")
    sys.stdout.flush()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
