"""IMDS as the AWS platform reads it: the identity document (kept once read), region,
instance id and local hostname, over the node's one IMDSv2 session (`kindling/imds.py`:
transport, token, deadlines and retries, shared with netdog's hostname source so a boot
fetches one token). The names other modules and tests import are re-exported here.
"""

from __future__ import annotations

import json
import weakref
from typing import TYPE_CHECKING, Any

from kindling.host import Host
from kindling.imds import (
    DEFAULT_ENDPOINT,
    IPV6_ENDPOINT,
    MAX_HEADERS,
    MAX_LINE,
    PINNED_SCHEMA,
    TOKEN_TTL,
    ImdsError,
    ImdsSession,
    endpoint_from_env,
    parse_retry_after,
    session_for,
)
from kindling.nesting import loads_json

if TYPE_CHECKING:
    import random

__all__ = [
    "DEFAULT_ENDPOINT",
    "IPV6_ENDPOINT",
    "MAX_HEADERS",
    "MAX_LINE",
    "PINNED_SCHEMA",
    "TOKEN_TTL",
    "ImdsClient",
    "ImdsError",
    "client_for",
    "endpoint_from_env",
    "parse_retry_after",
]


class ImdsClient:
    """The AWS reads over one IMDSv2 session: the node's (`client_for`), or its own
    when built directly (tests, the fail-closed bench)."""

    def __init__(
        self,
        host: Host,
        *,
        endpoint: str | None = None,
        budget: float | None = None,
        timeout: float | None = None,
        rng: random.Random | None = None,
        session: ImdsSession | None = None,
    ) -> None:
        self.host = host
        self.session = session or ImdsSession(host, endpoint=endpoint, budget=budget, timeout=timeout, rng=rng)
        self._identity: dict[str, Any] | None = None

    @property
    def request_count(self) -> int:
        """HTTP requests sent on the session (reconnects included)."""
        return self.session.request_count

    @property
    def timeout(self) -> float:
        return self.session.timeout

    def close(self) -> None:
        self.session.close()

    def get(self, target: str) -> bytes | None:
        """The bytes at `/2021-07-15/<target>`; None when IMDS says 404 (absent)."""
        return self.session.get(target)

    def get_text(self, target: str) -> str | None:
        return self.session.get_text(target)

    def identity_document(self) -> dict[str, Any] | None:
        """`dynamic/instance-identity/document` as JSON; None when absent.

        Kept once read: the document does not change while an instance runs, and the
        region provider and the setting generators of one boot both need it."""
        if self._identity is not None:
            return self._identity
        text = self.get_text("dynamic/instance-identity/document")
        if text is None:
            return None
        try:
            doc = loads_json(text, source="imds dynamic/instance-identity/document")
        except json.JSONDecodeError:
            raise ImdsError("imds dynamic/instance-identity/document: not JSON") from None
        if not isinstance(doc, dict):
            raise ImdsError("imds dynamic/instance-identity/document: not a JSON object")
        self._identity = doc
        return doc

    def region(self) -> str | None:
        doc = self.identity_document()
        region = doc.get("region") if doc else None
        return region if isinstance(region, str) and region else None

    def instance_id(self) -> str | None:
        text = self.get_text("meta-data/instance-id")
        return text.strip() if text else None

    def local_hostname(self) -> str | None:
        """First name of `meta-data/local-hostname`, trailing dot trimmed (imdsclient)."""
        text = self.get_text("meta-data/local-hostname")
        words = text.split() if text else []
        return words[0].rstrip(".") if words else None


_CLIENTS: weakref.WeakKeyDictionary[Host, ImdsClient] = weakref.WeakKeyDictionary()


def client_for(host: Host) -> ImdsClient:
    """The process's client for `host`, over the node's one session (`session_for`):
    the AWS providers, generators and signalling commands share its identity document,
    and netdog's hostname lookup its token and connection."""
    client = _CLIENTS.get(host)
    if client is None:
        client = _CLIENTS[host] = ImdsClient(host, session=session_for(host))
    return client
