"""Signed calls to AWS Query APIs (CloudFormation, Auto Scaling): the one AWS caller.

Why not boto3: a client costs ~0.5 s to build and loads every service model; four
actions need a form POST, a SigV4 signature and an XML answer. botocore supplies the
parts that must be exactly right — `SigV4Auth` for signing and its urllib3 session
for TLS and proxies — and is imported only when a call is made (DESIGN §8).

- Endpoint: `AWS_ENDPOINT_URL_CLOUDFORMATION` / `AWS_ENDPOINT_URL_AUTO_SCALING` /
  `AWS_ENDPOINT_URL_STS` (role profiles), then
  `AWS_ENDPOINT_URL` (the SDKs' names, DESIGN §2), else the regional endpoint of the
  region's partition. `AWS_CA_BUNDLE` names extra trust roots.
- Proxy: `settings.network.https-proxy` carries the calls (Bottlerocket's cfsignal
  cannot), unless the endpoint's host matches `settings.network.no-proxy`; without the
  setting, `HTTPS_PROXY` / `https_proxy` from the Host environment.
- Retries through `kindling.retry` within a budget (`KINDLING_AWS_BUDGET`, default
  120 s): transport errors, HTTP 5xx and AWS throttling codes; `Retry-After` honoured.
  Every attempt is signed afresh (the signature covers the time).
- Refusals (bad signature, unknown stack, no lifecycle action) are not retried: an
  `AwsApiError` carries AWS's code and a one-line message.
- `--plan`: no call is sent, not even a read: `Host.network` (the recording host)
  stops the plan at the first call, naming the action and its parameter names only.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kindling import log
from kindling.env_seconds import env_seconds
from kindling.errors import InputError
from kindling.record import record
from kindling.retry import Retryable, RetryBudgetExceeded, RetryPolicy, retry
from platforms.aws.errors import AwsApiError, AwsThrottled

if TYPE_CHECKING:
    import random
    from xml.etree.ElementTree import Element

    from kindling.host import Host
    from platforms.aws.credentials import Credentials

__all__ = [
    "AUTOSCALING",
    "CLOUDFORMATION",
    "STS",
    "QueryApi",
    "Service",
    "bypasses_proxy",
    "endpoint_for",
    "find_text",
    "flatten_params",
    "parse_error",
    "proxy_for",
]

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
DEFAULT_BUDGET = 120.0
DEFAULT_TIMEOUT = 15.0
MAX_MESSAGE = 240
_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62})")


@record(frozen=True)
class Service:
    """One Query API: its endpoint prefix, signing name, API version and env override."""

    name: str
    endpoint_prefix: str
    signing_name: str
    version: str
    env: str


CLOUDFORMATION = Service("cloudformation", "cloudformation", "cloudformation", "2010-05-15",
                         "AWS_ENDPOINT_URL_CLOUDFORMATION")
AUTOSCALING = Service("autoscaling", "autoscaling", "autoscaling", "2011-01-01", "AWS_ENDPOINT_URL_AUTO_SCALING")
STS = Service("sts", "sts", "sts", "2011-06-15", "AWS_ENDPOINT_URL_STS")


def _dns_suffix(region: str) -> str:
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region.startswith("us-isob-"):
        return "sc2s.sgov.gov"
    if region.startswith("us-iso-"):
        return "c2s.ic.gov"
    return "amazonaws.com"


def endpoint_for(service: Service, region: str, env: Mapping[str, str]) -> str:
    """The URL to POST to; an override names its variable when it is not a URL."""
    from urllib.parse import urlsplit

    for var in (service.env, "AWS_ENDPOINT_URL"):
        value = env.get(var, "").strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InputError("not an http(s) URL", source=var)
            return value.rstrip("/") + "/"
    if not _REGION.fullmatch(region):
        raise InputError("not a valid AWS region name", source="region")
    return f"https://{service.endpoint_prefix}.{region}.{_dns_suffix(region)}/"


def bypasses_proxy(hostname: str, no_proxy: Sequence[str]) -> bool:
    """curl's NO_PROXY rules: `*`, a domain (with or without leading dot), an IP or CIDR."""
    name = hostname.lower().strip("[]")
    for raw in no_proxy:
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        try:
            if ipaddress.ip_address(name) in ipaddress.ip_network(entry, strict=False):
                return True
            continue
        except ValueError:
            pass
        domain = entry.lstrip(".")
        if name == domain or name.endswith("." + domain):
            return True
    return False


def proxy_for(endpoint: str, https_proxy: str, no_proxy: Sequence[str], env: Mapping[str, str]) -> str | None:
    """The proxy URL for `endpoint`, or None to go direct."""
    from urllib.parse import urlsplit

    proxy = https_proxy.strip() or env.get("HTTPS_PROXY", "").strip() or env.get("https_proxy", "").strip()
    if not proxy:
        return None
    exclusions = list(no_proxy) or [
        *env.get("NO_PROXY", "").split(","),
        *env.get("no_proxy", "").split(","),
    ]
    if bypasses_proxy(urlsplit(endpoint).hostname or "", exclusions):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def flatten_params(params: Mapping[str, str | Sequence[str]]) -> list[tuple[str, str]]:
    """Query-API form fields: lists become `Name.member.N` (1-based), as the SDKs send."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, str):
            out.append((key, value))
        else:
            out.extend((f"{key}.member.{i}", v) for i, v in enumerate(value, 1))
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def find_text(root: Element, path: str) -> str | None:
    """Text at a `/`-separated path of local names (namespaces ignored); None if absent."""
    nodes = [root]
    for part in path.split("/"):
        nodes = [child for node in nodes for child in node if _local(child.tag) == part]
        if not nodes:
            return None
    text = nodes[0].text
    return text.strip() if text is not None else ""


def _parse_xml(body: bytes) -> Element | None:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root: Element = fromstring(body)
    except (ParseError, DefusedXmlException):
        return None
    return root


def parse_error(body: bytes) -> tuple[str | None, str]:
    """(code, one-line message) from an AWS Query error document."""
    root = _parse_xml(body)
    if root is None:
        return None, ""
    code = find_text(root, "Error/Code")
    message = " ".join((find_text(root, "Error/Message") or "").split())
    return code, message[:MAX_MESSAGE]


class QueryApi:
    """Signed Query-API calls for one region with one set of credentials."""

    def __init__(
        self,
        host: Host,
        *,
        region: str,
        credentials: Callable[[], Credentials],
        https_proxy: str = "",
        no_proxy: Sequence[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.region = region
        self._credentials = credentials
        self._creds: Credentials | None = None
        self.https_proxy = https_proxy
        self.no_proxy = tuple(no_proxy)
        self.budget = env_seconds(host.env, "KINDLING_AWS_BUDGET", DEFAULT_BUDGET)
        self.timeout = env_seconds(host.env, "KINDLING_AWS_TIMEOUT", DEFAULT_TIMEOUT)
        self.policy = RetryPolicy(first=0.5, cap=20.0, budget=self.budget, jitter=0.2)
        self._rng = rng
        self._sessions: dict[str | None, Any] = {}
        self.log = log.get("aws")

    def _session(self, proxy: str | None) -> Any:
        from botocore.httpsession import URLLib3Session

        session = self._sessions.get(proxy)
        if session is None:
            verify: bool | str = self.host.env.get("AWS_CA_BUNDLE", "").strip() or True
            proxies = {"http": proxy, "https": proxy} if proxy else None
            session = URLLib3Session(verify=verify, proxies=proxies, timeout=self.timeout)
            self._sessions[proxy] = session
        return session

    def resolve_credentials(self) -> Credentials:
        """Run the credential chain now (once); callers use it to fail before a long wait."""
        if self._creds is None:
            self._creds = self._credentials()
        return self._creds

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def call(
        self, service: Service, action: str, params: Mapping[str, str | Sequence[str]], *, mutating: bool
    ) -> Element | None:
        """POST `action`; the parsed answer, or None when `--plan` recorded it instead."""
        endpoint = endpoint_for(service, self.region, self.host.env)
        names = ", ".join(sorted(params))
        self.host.network(f"POST {service.name} {action} ({names}) to {endpoint}")
        self.resolve_credentials()
        proxy = proxy_for(endpoint, self.https_proxy, self.no_proxy, self.host.env)
        from urllib.parse import urlencode

        body = urlencode([("Action", action), ("Version", service.version), *flatten_params(params)])
        what = f"{service.name} {action}"
        last: dict[str, str] = {}

        def attempt() -> Element:
            status, headers, content = self._send(service, action, endpoint, body, proxy, last)
            if 200 <= status < 300:
                root = _parse_xml(content)
                if root is None:
                    raise AwsApiError(service.name, action, f"HTTP {status} with an answer that is not XML")
                return root
            code, message = parse_error(content)
            detail = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
            wait = _retry_after(headers.get("retry-after"))
            if code in THROTTLING_CODES or status == 429:
                last["kind"] = "throttled"
                raise Retryable(detail, retry_after=wait)
            if status >= 500:
                last["kind"] = "server"
                raise Retryable(detail, retry_after=wait)
            raise AwsApiError(service.name, action, detail, code=code)

        try:
            return retry(attempt, clock=self.host.clock, what=what, policy=self.policy, rng=self._rng)
        except RetryBudgetExceeded as exc:
            cls = AwsThrottled if last.get("kind") == "throttled" else AwsApiError
            raise cls(service.name, action, str(exc).split(": ", 1)[-1]) from exc

    def _send(
        self, service: Service, action: str, endpoint: str, body: str, proxy: str | None, last: dict[str, str]
    ) -> tuple[int, Mapping[str, str], bytes]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as BotoCredentials
        from botocore.exceptions import BotoCoreError, SSLError

        creds = self._creds
        assert creds is not None
        request = AWSRequest(
            method="POST",
            url=endpoint,
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        SigV4Auth(BotoCredentials(creds.access_key, creds.secret_key, creds.token), service.signing_name,
                  self.region).add_auth(request)
        try:
            response = self._session(proxy).send(request.prepare())
        except SSLError as exc:  # a trust problem does not heal by retrying
            raise AwsApiError(service.name, action,
                              f"TLS with {endpoint} failed (certificate not trusted? see AWS_CA_BUNDLE)") from exc
        except BotoCoreError as exc:
            last["kind"] = "transport"
            via = " via the proxy" if proxy else ""
            raise Retryable(f"cannot reach {endpoint}{via} ({type(exc).__name__})") from exc
        headers = {str(k).lower(): str(v) for k, v in response.headers.items()}
        return int(response.status_code), headers, bytes(response.content or b"")


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        return None
