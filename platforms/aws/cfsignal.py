"""cfsignal: tell CloudFormation whether this node booted well (issue 8, item 2).

After Bottlerocket's `cfsignal` (reference §7), with three deliberate changes:
- a send error is logged and fails the run (exit 1, no marker), so the unit shows
  failed and a restart tries again; Bottlerocket logs it and exits 0;
- the calls honour `settings.network.https-proxy` (Bottlerocket's cannot);
- bad input fails before the long wait: `should-signal` without a stack name or
  resource id, no instance id, no region or no credentials is reported at once.

Flow: marker present → nothing to do. `should-signal` false → nothing to do. Check
the settings, fetch instance id and region (IMDS) and the credentials; wait for the
boot's verdict (`instance.boot_verdict`); `SignalResource` with SUCCESS iff healthy,
`UniqueId` = the instance id; then the marker `/var/lib/kindling/cfsignal.ran`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kindling import log
from kindling.errors import PlanBoundary, UsageError
from kindling.record import field, record

if TYPE_CHECKING:
    from kindling.host import Host
    from platforms.aws.instance import Instance
    from platforms.aws.node_settings import NodeSettings
    from platforms.aws.system_state import SystemStatus

__all__ = ["MARKER", "STATUSES", "SignalReport", "run_cfsignal", "signal_resource"]

MARKER = "/var/lib/kindling/cfsignal.ran"
STATUSES = ("SUCCESS", "FAILURE")


@record(frozen=True)
class SignalReport:
    """What happened, for the log line and `--json`."""

    sent: bool
    detail: str
    status: str | None = None
    system_state: str | None = None
    failed_units: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "status": self.status,
            "detail": self.detail,
            "system_state": self.system_state,
            "failed_units": list(self.failed_units),
        }


def signal_resource(instance: Instance, status: str) -> None:
    """CloudFormation `SignalResource` for this instance (raises AwsApiError on refusal)."""
    from platforms.aws.query_api import CLOUDFORMATION

    if status not in STATUSES:
        raise UsageError(f"status must be one of {', '.join(STATUSES)}")
    settings = instance.settings
    instance.api().call(
        CLOUDFORMATION,
        "SignalResource",
        {
            "StackName": settings.stack_name,
            "LogicalResourceId": settings.logical_resource_id,
            "Status": status,
            "UniqueId": instance.instance_id(),
        },
        mutating=True,
    )


def run_cfsignal(
    host: Host,
    *,
    settings: NodeSettings | None = None,
    status: str | None = None,
    timeout: float = 900.0,
    verdict: Callable[[Instance], SystemStatus] | None = None,
    instance: Instance | None = None,
) -> SignalReport:
    """One cfsignal run. `status` forces SUCCESS/FAILURE (the emergency path);
    `verdict` replaces the wait on systemd (the boot stage judges by its own run)."""
    from platforms.aws.instance import Instance, boot_verdict
    from platforms.aws.node_settings import load_node_settings

    logger = log.get("cfsignal")
    from kindling.first_boot import marker_done, write_marker

    if marker_done(host, MARKER, "cfsignal"):
        return SignalReport(False, f"already signalled ({MARKER} exists)")
    settings = settings or load_node_settings(host)
    if not settings.should_signal:
        return SignalReport(False, "settings.cloudformation.should-signal is false: nothing to signal")
    settings.require_signal_target()
    inst = instance or Instance(host, settings)
    try:
        inst.instance_id()
        inst.api().resolve_credentials()  # before the wait: missing credentials fail now
        system: SystemStatus | None = None
        if status is None:
            system = verdict(inst) if verdict is not None else boot_verdict(inst, timeout=timeout)
            status = "SUCCESS" if system.healthy else "FAILURE"
            logger.info("system state", state=system.describe())
            if not system.healthy:
                logger.error("boot failed: signalling FAILURE", state=system.state,
                             failed_units=",".join(system.failed_units) or "none")
        signal_resource(inst, status)
    except PlanBoundary as stop:
        if status is None:
            stop.then.append(f"wait for the boot to settle (at most {timeout:g}s)")
        what = status or "SUCCESS if the boot settled running, else FAILURE"
        stop.then += [f"signal {what} to {settings.stack_name}/{settings.logical_resource_id}",
                      f"write {MARKER}"]
        raise
    finally:
        inst.close()
    write_marker(host, MARKER, status)
    logger.info("signalled", status=status, stack=settings.stack_name, resource=settings.logical_resource_id)
    return SignalReport(
        True,
        f"signalled {status} to {settings.stack_name}/{settings.logical_resource_id}",
        status,
        system.state if system else None,
        system.failed_units if system else (),
    )
