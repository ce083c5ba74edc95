"""IMDSv2 `meta-data/local-hostname`, the first hostname source on AWS (Bottlerocket's
dogtag `20-imds` detector).

Read through the node's one IMDSv2 session (`kindling.imds.session_for`: netdog may
not import `platforms.aws`, DESIGN §1), so inside `kindling boot` it reuses the token
and the connection early-boot-config opened: one token per boot, and neither
`http.client` nor the `email.*` and `ssl` it drags in. DESIGN §7 semantics are the
session's: IMDSv2 only, the pinned schema, 60 s token refetched once on 401, 404 means
absent (not retried), other failures retried on the Host clock with a deadline per
request. The budget stays the hostname source's own 60 s unless `KINDLING_IMDS_BUDGET`
names one: a node whose IMDS is down falls back to reverse DNS after a minute, not five.
"""

from __future__ import annotations

from kindling.env_seconds import env_seconds
from kindling.host import Host
from kindling.imds import session_for

__all__ = ["HOSTNAME_BUDGET", "imds_local_hostname"]

HOSTNAME_BUDGET = 60.0


def imds_local_hostname(host: Host, *, budget: float | None = None) -> str | None:
    """The instance's private DNS name (first of the names listed), or None when IMDS
    says it has none (404)."""
    budget = budget or env_seconds(host.env, "KINDLING_IMDS_BUDGET", HOSTNAME_BUDGET)
    text = session_for(host).get_text("meta-data/local-hostname", budget=budget)
    # local-hostname may list several names ("ip-10-0-0-1.ec2.internal x.example"):
    # the first is the instance's own, as Bottlerocket's imdsclient takes it
    words = text.split() if text else []
    return words[0] if words else None
