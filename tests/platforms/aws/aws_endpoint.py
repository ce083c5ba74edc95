"""A local AWS Query-API endpoint that VERIFIES SigV4 and records calls.

moto implements none of SignalResource, CompleteLifecycleAction and
RecordLifecycleActionHeartbeat (libraries-and-rigs.md), so the tests run this:
a `ThreadingHTTPServer` on 127.0.0.1 serving CloudFormation (2010-05-15) and
Auto Scaling (2011-01-01) on one port, the service chosen by the credential scope,
as an AWS front end routes by host.

Every request's signature is recomputed with botocore's `SigV4Auth` (the oracle)
from the secret of the access key it names, over exactly the headers it says it
signed, at its own `X-Amz-Date`; a mismatch, an unknown key, a wrong scope or a
stale date gets AWS's own error document and status. Accepted calls are recorded
(service, action, form fields, access key); scripted faults (throttling, 5xx) are
served before the real answer.
"""

import datetime
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

__all__ = ["AwsEndpoint", "Call"]

VERSIONS = {"cloudformation": "2010-05-15", "autoscaling": "2011-01-01", "sts": "2011-06-15"}
ACTIONS = {
    "cloudformation": {"SignalResource"},
    "autoscaling": {"DescribeAutoScalingInstances", "CompleteLifecycleAction", "RecordLifecycleActionHeartbeat"},
    "sts": {"AssumeRole"},
}


@dataclass(frozen=True)
class Call:
    service: str
    action: str
    params: dict[str, str]
    access_key: str
    via_proxy: bool


@dataclass
class _State:
    keys: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # akid -> (secret, token)
    region: str = "us-west-2"
    stacks: dict[str, set[str]] = field(default_factory=dict)  # stack -> logical ids
    instances: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> {group, state}
    hooks: dict[tuple[str, str], str] = field(default_factory=dict)  # (group, hook) -> "launching"
    roles: dict[str, set[str]] = field(default_factory=dict)  # role arn -> access keys that may assume it
    faults: list[tuple[str, int, str]] = field(default_factory=list)  # (action|*, status, code)
    retry_after: str | None = None  # sent with every scripted fault
    calls: list[Call] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # error codes sent for auth failures
    received: int = 0  # every request, answered or refused (a plan must send none)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _xml_error(service: str, code: str, message: str, sender: bool = True) -> bytes:
    ns = f"http://{service}.amazonaws.com/doc/{VERSIONS.get(service, '2010-05-15')}/"
    kind = "Sender" if sender else "Receiver"
    return (
        f'<ErrorResponse xmlns="{ns}">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n'
        f"    <Message>{message}</Message>\n  </Error>\n  <RequestId>{uuid.uuid4()}</RequestId>\n"
        "</ErrorResponse>\n"
    ).encode()


def _xml_ok(service: str, action: str, result: str = "") -> bytes:
    ns = f"http://{service}.amazonaws.com/doc/{VERSIONS[service]}/"
    inner = f"  <{action}Result>{result}</{action}Result>\n" if result or service == "autoscaling" else ""
    return (
        f'<{action}Response xmlns="{ns}">\n{inner}  <ResponseMetadata>\n'
        f"    <RequestId>{uuid.uuid4()}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
    ).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    state: _State


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    caller = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, retry_after: str | None = None) -> None:
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(body)

    def _reject(self, service: str, status: int, code: str, message: str) -> None:
        with self.server.state.lock:
            self.server.state.rejected.append(code)
        self._send(status, _xml_error(service, code, message))

    # -- SigV4 verification --------------------------------------------------------------
    def _verify(self, body: bytes) -> tuple[str, str] | None:
        """(service, access key) when the signature is right; else answers and returns None."""
        st = self.server.state
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            self._reject("cloudformation", 403, "MissingAuthenticationToken",
                         "Request is missing Authentication Token")
            return None
        fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        akid, date, region, service, terminator = fields["Credential"].split("/")
        if service not in VERSIONS:
            self._reject("cloudformation", 400, "InvalidAction", f"unknown service {service}")
            return None
        if akid not in st.keys:
            self._reject(service, 403, "InvalidClientTokenId",
                         "The security token included in the request is invalid.")
            return None
        secret, token = st.keys[akid]
        amz_date = self.headers.get("X-Amz-Date", "")
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        skew = abs((datetime.datetime.now(datetime.UTC) - when).total_seconds())
        if skew > 300:
            self._reject(service, 403, "SignatureDoesNotMatch", "Signature expired")
            return None
        if region != st.region or terminator != "aws4_request" or date != amz_date[:8]:
            self._reject(service, 403, "SignatureDoesNotMatch",
                         f"Credential should be scoped to a valid region, not '{region}'.")
            return None
        if token is not None and self.headers.get("X-Amz-Security-Token") != token:
            self._reject(service, 403, "InvalidClientTokenId",
                         "The security token included in the request is invalid.")
            return None
        signed = fields["SignedHeaders"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            self._reject(service, 403, "SignatureDoesNotMatch", "host and x-amz-date must be signed")
            return None
        headers = {name: self.headers.get(name, "") for name in signed}
        request = AWSRequest(method=self.command, url=f"http://{headers['host']}{self.path}", data=body,
                             headers=headers)
        request.context["timestamp"] = amz_date
        oracle = SigV4Auth(Credentials(akid, secret, token), service, region)
        # Sign over exactly the headers the client listed (the oracle would pick its own set).
        listed = HTTPHeaders()
        for name, value in headers.items():
            listed[name] = value
        oracle.headers_to_sign = lambda req: listed  # type: ignore[method-assign]
        canonical = oracle.canonical_request(request)
        expected = oracle.signature(oracle.string_to_sign(request, canonical), request)
        if expected != fields["Signature"]:
            self._reject(service, 403, "SignatureDoesNotMatch",
                         "The request signature we calculated does not match the signature you provided. "
                         "Check your AWS Secret Access Key and signing method. Consult the service "
                         "documentation for details.")
            return None
        return service, akid

    # -- actions -----------------------------------------------------------------------
    def do_POST(self) -> None:
        with self.server.state.lock:
            self.server.state.received += 1
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        verified = self._verify(body)
        if verified is None:
            return
        service, akid = verified
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        action = params.pop("Action", "")
        version = params.pop("Version", "")
        if action not in ACTIONS[service] or version != VERSIONS[service]:
            message = f"Could not find operation {action} for version {version}"
            self._send(400, _xml_error(service, "InvalidAction", message))
            return
        st = self.server.state
        with st.lock:
            fault = next((f for f in st.faults if f[0] in (action, "*")), None)
            if fault is not None:
                st.faults.remove(fault)
        if fault is not None:
            _, status, code = fault
            self._send(status, _xml_error(service, code, "Rate exceeded" if status < 500 else "Internal failure",
                                          sender=status < 500), st.retry_after)
            return
        with st.lock:
            st.calls.append(Call(service, action, dict(params), akid, self.path.startswith("http")))
        self.caller = akid
        getattr(self, "_" + action)(service, params)

    def _AssumeRole(self, service: str, p: dict[str, str]) -> None:
        st = self.server.state
        arn = p.get("RoleArn", "")
        if self.caller not in st.roles.get(arn, set()) or not p.get("RoleSessionName"):
            message = f"User: {self.caller} is not authorized to perform: sts:AssumeRole on resource: {arn}"
            self._send(403, _xml_error(service, "AccessDenied", message))
            return
        key, secret, token = f"ASIA{uuid.uuid4().hex[:16].upper()}", uuid.uuid4().hex * 2, uuid.uuid4().hex * 3
        with st.lock:
            st.keys[key] = (secret, token)
        creds = (f"<Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
                 f"<SessionToken>{token}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>")
        self._send(200, _xml_ok(service, "AssumeRole", creds))

    def _SignalResource(self, service: str, p: dict[str, str]) -> None:
        stack = self.server.state.stacks.get(p.get("StackName", ""))
        if stack is None:
            message = f"Stack with id {p.get('StackName')} does not exist"
            self._send(400, _xml_error(service, "ValidationError", message))
        elif p.get("LogicalResourceId") not in stack:
            message = f"Resource {p.get('LogicalResourceId')} does not exist for stack {p.get('StackName')}"
            self._send(400, _xml_error(service, "ValidationError", message))
        elif p.get("Status") not in ("SUCCESS", "FAILURE") or not p.get("UniqueId"):
            self._send(400, _xml_error(service, "ValidationError", "1 validation error detected"))
        else:
            self._send(200, _xml_ok(service, "SignalResource"))

    def _DescribeAutoScalingInstances(self, service: str, p: dict[str, str]) -> None:
        wanted = [v for k, v in sorted(p.items()) if k.startswith("InstanceIds.member.")]
        members = ""
        for iid in wanted:
            inst = self.server.state.instances.get(iid)
            if inst is None:
                continue
            members += (
                "<member><InstanceId>{}</InstanceId><AutoScalingGroupName>{}</AutoScalingGroupName>"
                "<AvailabilityZone>us-west-2a</AvailabilityZone><LifecycleState>{}</LifecycleState>"
                "<HealthStatus>HEALTHY</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn>"
                "<InstanceType>m5.large</InstanceType></member>"
            ).format(iid, inst["group"], inst["state"])
        self._send(200, _xml_ok(service, "DescribeAutoScalingInstances",
                                f"<AutoScalingInstances>{members}</AutoScalingInstances>"))

    def _lifecycle_check(self, service: str, p: dict[str, str]) -> dict[str, str] | None:
        st = self.server.state
        inst = st.instances.get(p.get("InstanceId", ""))
        group, hook = p.get("AutoScalingGroupName", ""), p.get("LifecycleHookName", "")
        if (group, hook) not in st.hooks:
            self._send(400, _xml_error(service, "ValidationError", f"No Lifecycle Hook found with name {hook}"))
            return None
        if inst is None or inst["group"] != group or not inst["state"].endswith("Pending:Wait"):
            self._send(400, _xml_error(service, "ValidationError",
                                       f"No active Lifecycle Action found with instance ID {p.get('InstanceId')}"))
            return None
        return inst

    def _RecordLifecycleActionHeartbeat(self, service: str, p: dict[str, str]) -> None:
        if self._lifecycle_check(service, p) is not None:
            self._send(200, _xml_ok(service, "RecordLifecycleActionHeartbeat"))

    def _CompleteLifecycleAction(self, service: str, p: dict[str, str]) -> None:
        inst = self._lifecycle_check(service, p)
        if inst is None:
            return
        if p.get("LifecycleActionResult") not in ("CONTINUE", "ABANDON"):
            self._send(400, _xml_error(service, "ValidationError", "LifecycleActionResult must be CONTINUE or ABANDON"))
            return
        warmed = inst["state"].startswith("Warmed:")
        if p["LifecycleActionResult"] == "CONTINUE":
            inst["state"] = "Warmed:Pending:Proceed" if warmed else "Pending:Proceed"
        else:
            inst["state"] = "Terminating"
        self._send(200, _xml_ok(service, "CompleteLifecycleAction"))


class AwsEndpoint:
    """Start/stop with a `with` block; `url` goes into AWS_ENDPOINT_URL_*."""

    def __init__(self, host: str = "127.0.0.1", *, tls: tuple[str, str] | None = None) -> None:
        """`tls=(certfile, keyfile)` serves HTTPS, as real AWS endpoints do."""
        self._server = _Server((host, 0), _Handler)
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._server.state = _State()
        self._thread: threading.Thread | None = None
        self.state = self._server.state

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "AwsEndpoint":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "AwsEndpoint":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content and faults --------------------------------------------------------------
    def add_key(self, access_key: str, secret: str, token: str | None = None) -> None:
        self.state.keys[access_key] = (secret, token)

    def add_stack(self, name: str, *logical_ids: str) -> None:
        self.state.stacks[name] = set(logical_ids)

    def add_instance(self, instance_id: str, group: str, state: str, hook: str | None = None) -> None:
        self.state.instances[instance_id] = {"group": group, "state": state}
        if hook:
            self.state.hooks[(group, hook)] = "launching"

    def add_role(self, arn: str, *allowed_keys: str) -> None:
        self.state.roles[arn] = set(allowed_keys)

    def fail(self, action: str, status: int, code: str, *, times: int = 1) -> None:
        self.state.faults.extend((action, status, code) for _ in range(times))

    @property
    def calls(self) -> list[Call]:
        with self.state.lock:
            return list(self.state.calls)

    @property
    def received(self) -> int:
        with self.state.lock:
            return self.state.received

    def actions(self) -> list[str]:
        return [c.action for c in self.calls]
