"""IMDSv2 `meta-data/local-hostname`, the first hostname source on AWS (Bottlerocket's
dogtag `20-imds` detector).

Deliberately tiny and self-contained: netdog may not import `platforms.aws` (DESIGN §1),
so this is a plain `http.client` token PUT + GET against the endpoint the ecosystem
uses to redirect IMDS (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, from the Host env; tests
point it at an emulator on 127.0.0.1). DESIGN §7 semantics: IMDSv2 only, 60 s token,
404 means absent (not retried), other failures retried through `kindling.retry` on
the Host clock.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from kindling.errors import InputError
from kindling.host import Host
from kindling.retry import Retryable, RetryPolicy, retry

__all__ = ["DEFAULT_ENDPOINT", "imds_local_hostname"]

DEFAULT_ENDPOINT = "http://169.254.169.254"
_TIMEOUT = 2.0


def _request(base: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(base)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=_TIMEOUT)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=_TIMEOUT)
    try:
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(65536)
    except (OSError, http.client.HTTPException) as exc:
        raise Retryable(f"imds {method} {path}: {type(exc).__name__}") from None
    finally:
        conn.close()


def imds_local_hostname(host: Host, policy: RetryPolicy | None = None) -> str | None:
    """The instance's private DNS name (first of the names listed), or None when IMDS
    says it has none (404)."""
    named = host.env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "").strip()
    if host.prefixed and not named:
        # Under a root prefix (a test, the demo, an image build) this is not the node's
        # own boot: never ask the real metadata service unless an endpoint is named.
        raise InputError("with a root prefix, set AWS_EC2_METADATA_SERVICE_ENDPOINT explicitly",
                         source="IMDS endpoint")
    base = (named or DEFAULT_ENDPOINT).rstrip("/")
    host.network("GET imds meta-data/local-hostname")

    def fetch() -> str | None:
        status, body = _request(
            base, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}
        )
        if status != 200:
            raise Retryable(f"imds token: HTTP {status}")
        token = body.decode("ascii", "replace").strip()
        status, body = _request(
            base, "GET", "/latest/meta-data/local-hostname",
            {"X-aws-ec2-metadata-token": token},
        )
        if status == 404:
            return None
        if status != 200:
            raise Retryable(f"imds meta-data/local-hostname: HTTP {status}")
        # local-hostname may list several names ("ip-10-0-0-1.ec2.internal x.example"):
        # the first is the instance's own, as Bottlerocket's imdsclient takes it
        words = body.decode("utf-8", "replace").split()
        return words[0] if words else None

    return retry(fetch, clock=host.clock, what="imds GET meta-data/local-hostname",
                 policy=policy or RetryPolicy(first=0.25, cap=10, budget=60, jitter=0.1))
