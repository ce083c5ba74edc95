"""The one IMDSv2 session of a node (DESIGN §7), after Bottlerocket's `imdsclient`: the
HTTP/1.1 connection, the token and the retry policy, shared by every reader of IMDS.

In `kindling` because two services read IMDS and neither may import the other
(DESIGN §1): the AWS platform (`platforms/aws/imds.py`: identity document, user data,
region, instance id, credentials, warm pool) and netdog's hostname source
(`netdog/imds_hostname.py`, Bottlerocket's dogtag `20-imds`). `session_for(host)` gives
them one session per Host — per node: a `kindling boot` has one Host, and the fleet bench
simulates hundreds in one process, each with its own — so the token early-boot-config
fetched also serves the hostname lookup and a boot on aws sends one token PUT.

- IMDSv2 only: a token from `PUT /latest/api/token` (TTL 60 s) is sent with every
  GET and reused while it has more than `TOKEN_MARGIN` seconds to live (Host clock,
  counted from before the PUT was sent); an older one is not sent but fetched again
  (a request may take its whole timeout, and a token that expires on the way is a
  401). A 401 drops the token and fetches another at once, once; a second 401 goes
  through the backoff.
- Data is read from the pinned schema `/2021-07-15/<path>`, so a newer IMDS layout
  cannot change what Kindling sees.
- 404 means absent (no user data, IMDS disabled): returned as None, never retried.
  Any other status or a transport error is retried through `kindling.retry.retry`
  (Fibonacci from 250 ms, capped at 10 s, jitter) within a total budget, 300 s by
  default (Bottlerocket's, tied to network bring-up); 429/503 `Retry-After` is
  honoured. The Host clock drives the waits, so tests cost no time.
- Deadlines are wall-clock, on the Host clock: each request (the token PUT too) must
  be answered whole within the per-request timeout, and no request outlives the
  total budget; a server that drips one byte at a time is cut off at the deadline,
  not allowed one timeout per byte. An answer must carry exactly one
  `Content-Length` and exactly that many bytes (or be whole chunked): short,
  conflicting or unannounced is a transport error (retried), never data.
- The endpoint follows the AWS SDKs: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else
  `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6` → `http://[fd00:ec2::254]`, else
  `http://169.254.169.254`. Budget and per-request timeout: `KINDLING_IMDS_BUDGET`,
  `KINDLING_IMDS_TIMEOUT` (seconds). Under a root prefix (`--root`: tests, demos,
  image builds) the endpoint must be named: the default address is never queried.
- `--plan` sends nothing: every read asks `host.network` first, and the recording
  Host stops the plan there (PlanBoundary).

Why HTTP/1.1 over one socket here and not `http.client` (or requests, ~120 ms):
`http.client` pulls in `email.*` and `ssl` (~9 ms of early-boot-config, ~1.4 MB of
RSS) to parse headers this service answers in a plain form; IMDS is plain http://.
The framing is as strict as before (line, header and body bounds; 1xx skipped;
chunked read whole) and a request that would change its own framing (a space or a
control character in the path, CR/LF in a header) is refused, not sent. One
keep-alive connection serves the token and every GET, so a first boot costs three
requests (four when it also names the host from `local-hostname`).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kindling.env_seconds import env_seconds
from kindling.errors import ImdsError, InputError
from kindling.host import Host
from kindling.retry import Retryable, RetryBudgetExceeded, RetryPolicy, retry

if TYPE_CHECKING:
    import random
    import socket

__all__ = [
    "DEFAULT_ENDPOINT",
    "IPV6_ENDPOINT",
    "PINNED_SCHEMA",
    "TOKEN_MARGIN",
    "TOKEN_TTL",
    "ImdsError",
    "ImdsSession",
    "endpoint_from_env",
    "parse_retry_after",
    "session_for",
]

DEFAULT_ENDPOINT = "http://169.254.169.254"
IPV6_ENDPOINT = "http://[fd00:ec2::254]"
PINNED_SCHEMA = "2021-07-15"
TOKEN_PATH = "/latest/api/token"
TOKEN_TTL = 60
TOKEN_MARGIN = 10.0  # a token with less left is not sent: the request could outlive it
DEFAULT_BUDGET = 300.0
DEFAULT_TIMEOUT = 5.0
MAX_BODY = 1024 * 1024
MAX_LINE = 65536  # a status or header line, as http.client bounds them
MAX_HEADERS = 100


def endpoint_from_env(env: Mapping[str, str]) -> str:
    """The IMDS base URL as the AWS SDKs choose it (DESIGN §2)."""
    explicit = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "").strip()
    if explicit:
        return explicit.rstrip("/")
    mode = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv4").strip().lower()
    if mode == "ipv6":
        return IPV6_ENDPOINT
    if mode not in ("", "ipv4"):
        raise InputError("must be IPv4 or IPv6", source="AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
    return DEFAULT_ENDPOINT


def parse_retry_after(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


class ImdsSession:
    """IMDSv2 reads for one node; share it (`session_for`) so the token is fetched once."""

    def __init__(
        self,
        host: Host,
        *,
        endpoint: str | None = None,
        budget: float | None = None,
        timeout: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        from urllib.parse import urlsplit

        self.host = host
        self.clock = host.clock
        named = endpoint or host.env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "").strip()
        if host.prefixed and not named:
            # A root prefix means a test, a demo or an image build, not this machine's
            # first boot: never query the real metadata service by default from there.
            raise InputError(
                "with a root prefix, set AWS_EC2_METADATA_SERVICE_ENDPOINT explicitly",
                source="IMDS endpoint",
            )
        self.endpoint = endpoint or endpoint_from_env(host.env)
        parts = urlsplit(self.endpoint)
        if parts.scheme != "http" or not parts.hostname:
            raise InputError("must be an http:// URL", source="IMDS endpoint")
        self._netloc = (parts.hostname, parts.port or 80)
        self.budget = budget or env_seconds(host.env, "KINDLING_IMDS_BUDGET", DEFAULT_BUDGET)
        self.timeout = timeout or env_seconds(host.env, "KINDLING_IMDS_TIMEOUT", DEFAULT_TIMEOUT)
        self.policy = RetryPolicy(first=0.25, cap=10.0, budget=self.budget, jitter=0.1)
        self._rng = rng
        self._token: str | None = None
        self._token_until = float("-inf")  # Host clock: not sent from then on
        self._conn: _Connection | None = None
        self.request_count = 0
        # the wall-clock limits (Host clock) of the request under way and of the budget
        self._deadline = float("inf")
        self._budget_end = float("inf")

    # -- transport ------------------------------------------------------------------------
    def _left(self) -> float:
        """Seconds until the current request's deadline (Host clock); ≤ 0: past it."""
        return self._deadline - self.clock.monotonic()

    def _connection(self) -> _Connection:
        return _Connection(_deadline_socket(self._netloc, self), self._host_header())

    def _host_header(self) -> str:
        """`Host:` as http.client writes it: IPv6 in brackets, the port unless 80."""
        host, port = self._netloc
        name = f"[{host}]" if ":" in host else host
        return name if port == 80 else f"{name}:{port}"

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _request(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, str | None, bytes]:
        """One HTTP exchange on the kept-alive connection; transport errors → Retryable."""
        self._deadline = min(self.clock.monotonic() + self.timeout, self._budget_end)
        what = f"{method} {path}"
        for fresh in (self._conn is None, True):
            try:
                if self._conn is None:
                    self._conn = self._connection()
                self.request_count += 1
                answer = self._conn.exchange(method, path, headers, what)
                break
            except _Framing as exc:
                self.close()
                raise Retryable(str(exc)) from exc
            except (ConnectionResetError, BrokenPipeError) as exc:
                # The service closed a kept-alive connection while it sat idle: that is
                # no failure of the service, so reconnect at once (once) without backoff.
                self.close()
                if fresh:
                    raise Retryable(f"{what}: {type(exc).__name__}") from exc
            except OSError as exc:
                self.close()
                timed_out = isinstance(exc, TimeoutError)
                why = "timed out (no whole answer before the deadline)" if timed_out else type(exc).__name__
                raise Retryable(f"{what}: {why}") from exc
            except ImdsError:
                self.close()
                raise
        status, fields, body, will_close = answer
        if will_close:
            self.close()
        retry_after = fields.get("retry-after")
        return status, retry_after[0] if retry_after else None, body

    def _failed(self, what: str, status: int, retry_after: str | None) -> Retryable:
        wait = parse_retry_after(retry_after, self.clock.time()) if status in (429, 503) else None
        return Retryable(f"{what}: HTTP {status}", retry_after=wait)

    def _fetch_token(self) -> str:
        until = self.clock.monotonic() + TOKEN_TTL - TOKEN_MARGIN  # its life counts from the ask
        status, retry_after, body = self._request(
            "PUT", TOKEN_PATH, {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL)}
        )
        if status != 200 or not body.strip():
            raise self._failed("PUT api/token", status, retry_after)
        token = body.decode("ascii", "replace").strip()
        from kindling import log

        log.register_secret(token)
        self._token_until = until
        return token

    # -- reads -------------------------------------------------------------------------------
    def get(self, target: str, *, budget: float | None = None) -> bytes | None:
        """The bytes at `/2021-07-15/<target>`; None when IMDS says 404 (absent).
        `budget`: this read's total retry budget, when not the session's."""
        path = f"/{PINNED_SCHEMA}/{target.strip('/')}"
        self.host.network(f"GET imds {target}")
        policy = self.policy
        if budget is not None:
            policy = RetryPolicy(first=policy.first, cap=policy.cap, budget=budget, jitter=policy.jitter)

        def attempt() -> bytes | None:
            for fresh_token in (False, True):
                if self._token is not None and self.clock.monotonic() >= self._token_until:
                    self._token = None  # about to expire: a new one costs less than a 401
                if self._token is None:
                    self._token = self._fetch_token()
                status, retry_after, body = self._request("GET", path, {"X-aws-ec2-metadata-token": self._token})
                if status == 200:
                    return body
                if status == 404:
                    return None
                if status == 401:
                    self._token = None
                    if not fresh_token:
                        continue
                raise self._failed(f"GET {target}", status, retry_after)
            raise Retryable(f"GET {target}: token refused")

        self._budget_end = self.clock.monotonic() + policy.budget
        try:
            return retry(attempt, clock=self.clock, what=f"imds {target}", policy=policy, rng=self._rng)
        except RetryBudgetExceeded as exc:
            raise ImdsError(str(exc)) from exc
        finally:
            self._budget_end = float("inf")

    def get_text(self, target: str, *, budget: float | None = None) -> str | None:
        body = self.get(target, budget=budget)
        if body is None:
            return None
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise ImdsError(f"imds {target}: not UTF-8 text") from None


class _Framing(ImdsError):
    """An answer whose framing is wrong: short, conflicting or unannounced length."""


class RemoteDisconnected(ConnectionResetError):
    """The service closed the connection before a status line (an idle keep-alive
    connection it dropped, or an outage): named as http.client names it."""


class _Connection:
    """One HTTP/1.1 connection to the IMDS: a request out in one write, the answer
    read back under the socket's deadline, framed strictly (see `_body`)."""

    def __init__(self, sock: socket.socket, host_header: str) -> None:
        self.sock = sock
        self.host_header = host_header
        self._buf = b""

    def close(self) -> None:
        self.sock.close()

    def exchange(
        self, method: str, path: str, headers: dict[str, str], what: str
    ) -> tuple[int, dict[str, list[str]], bytes, bool]:
        """(status, header fields by lower-case name, body, close afterwards?)."""
        _check_request(path, headers, what)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host_header}", "Accept-Encoding: identity"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if method in ("PUT", "POST"):
            lines.append("Content-Length: 0")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        while True:
            version, status = self._status_line(what)
            fields = self._fields(what)
            if not 100 <= status < 200:
                break  # a 1xx interim answer is skipped, as http.client does
        connection = {t.strip().lower() for v in fields.get("connection", []) for t in v.split(",")}
        will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        body = b"" if status in (204, 304) else self._body(fields, what)
        return status, fields, body, will_close

    def _line(self, what: str) -> bytes:
        while True:
            end = self._buf.find(b"\n")
            if end > MAX_LINE or (end < 0 and len(self._buf) > MAX_LINE):
                raise _Framing(f"{what}: header line longer than {MAX_LINE} bytes")
            if end >= 0:
                line, self._buf = self._buf[: end + 1], self._buf[end + 1 :]
                return line
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self._buf = self._buf, b""
                return line
            self._buf += chunk

    def _exactly(self, length: int) -> bytes:
        while len(self._buf) < length:
            chunk = self.sock.recv(max(length - len(self._buf), 65536))
            if not chunk:
                break
            self._buf += chunk
        data, self._buf = self._buf[:length], self._buf[length:]
        return data

    def _status_line(self, what: str) -> tuple[str, int]:
        line = self._line(what)
        if not line:
            raise RemoteDisconnected("closed without an answer")
        version, _, rest = line.decode("latin-1").strip().partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit() or rest[3:4] not in ("", " "):
            raise _Framing(f"{what}: not an HTTP/1.x status line")
        return version, int(code)

    def _fields(self, what: str) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        last: list[str] | None = None
        for _ in range(MAX_HEADERS + 1):
            line = self._line(what).decode("latin-1")
            if line in ("\r\n", "\n"):
                return fields
            if not line.endswith("\n"):
                raise _Framing(f"{what}: answer cut off in its headers")
            if line[0] in " \t" and last:
                last[-1] += " " + line.strip()  # an obsolete folded continuation
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise _Framing(f"{what}: malformed header line")
            last = fields.setdefault(name.strip().lower(), [])
            last.append(value.strip())
        raise _Framing(f"{what}: more than {MAX_HEADERS} headers")

    def _body(self, fields: dict[str, list[str]], what: str) -> bytes:
        """The body, exactly as announced: one `Content-Length`, that many bytes."""
        announced = set(fields.get("content-length", []))
        if "chunked" in ",".join(fields.get("transfer-encoding", [])).lower():
            if announced:
                raise _Framing(f"{what}: both chunked and Content-Length")
            return self._chunked(what)
        if len(announced) != 1:
            raise _Framing(f"{what}: {'conflicting' if announced else 'no'} Content-Length")
        text = announced.pop()
        if not text.isdigit():
            raise _Framing(f"{what}: invalid Content-Length")
        length = int(text)
        if length > MAX_BODY:
            raise ImdsError(f"imds {what}: answer larger than {MAX_BODY // 1024} KiB")
        body = self._exactly(length)
        if len(body) != length:
            raise _Framing(f"{what}: answer shorter than its Content-Length ({len(body)} of {length} bytes)")
        return body

    def _chunked(self, what: str) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = self._line(what).split(b";", 1)[0].strip()
            if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                raise _Framing(f"{what}: chunked answer cut short or malformed")  # int() takes -, +, _, 0x
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > MAX_BODY:
                raise ImdsError(f"imds {what}: answer larger than {MAX_BODY // 1024} KiB")
            part = self._exactly(size + 2)
            if len(part) != size + 2 or part[-2:] != b"\r\n":
                raise _Framing(f"{what}: chunked answer cut short or malformed")
            parts.append(part[:-2])
        for _ in range(MAX_HEADERS + 1):  # trailer fields: none that matter here
            if self._line(what) in (b"\r\n", b"\n", b""):
                return b"".join(parts)
        raise _Framing(f"{what}: more than {MAX_HEADERS} trailer fields")


def _check_request(path: str, headers: Mapping[str, str], what: str) -> None:
    """Refuse what would change the request's framing (http.client refuses the same):
    a path with spaces or control characters (a role name read from IMDS goes into
    one), a header value with CR/LF. Not retried: the same request would be refused again."""
    if not path.isascii() or not path.isprintable() or " " in path:
        raise ImdsError(f"imds {ascii(what)[1:-1]}: path is not printable ASCII without spaces")
    for name, value in headers.items():
        if not value.isascii() or not value.isprintable():
            raise ImdsError(f"imds {ascii(what)[1:-1]}: header {name} is not printable ASCII")


def _deadline_socket(address: tuple[str, int], client: ImdsSession) -> socket.socket:
    """A TCP connection whose every wait is bounded by `client`'s current deadline."""
    import socket

    class _Socket(socket.socket):
        """Each send and receive may wait only until the deadline: dripping one byte
        per timeout cannot stretch a request past it."""

        def _arm(self) -> None:
            left = client._left()
            if left <= 0:
                raise TimeoutError("request deadline passed")
            self.settimeout(min(left, client.timeout))

        def recv(self, bufsize: int, flags: int = 0) -> bytes:
            self._arm()
            return super().recv(bufsize, flags)

        def sendall(self, data: Any, flags: int = 0) -> None:
            self._arm()
            super().sendall(data, flags)

    host, port = address
    last: OSError | None = None
    name = host.encode() if host.isascii() else host  # a str goes through the idna codec (~1 ms)
    for family, kind, proto, _name, addr in socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM):
        sock = _Socket(family, kind, proto)
        try:
            sock._arm()
            sock.connect(addr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"{host}: no address")


_SESSIONS: weakref.WeakKeyDictionary[Host, ImdsSession] = weakref.WeakKeyDictionary()


def session_for(host: Host) -> ImdsSession:
    """The node's one session: every reader of IMDS in this process (the AWS platform,
    netdog's hostname source) shares its token and connection."""
    session = _SESSIONS.get(host)
    if session is None:
        session = _SESSIONS[host] = ImdsSession(host)
    return session
