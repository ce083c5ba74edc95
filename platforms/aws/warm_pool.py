"""warm-pool-wait: hold the orchestrator back until the warm pool puts us in service.

After Bottlerocket's `shibaken warm-pool-wait` (reference §8, issue bottlerocket#1788:
a warmed instance that starts kubelet registers, is stopped, and shows NotReady).
If `settings.autoscaling.should-wait`, poll IMDS
`meta-data/autoscaling/target-lifecycle-state` every 5 s until it says `InService`.
An absent state (404) or any other state (`Warmed:Stopped`, `Warmed:Running`…)
keeps polling. The IMDS client refreshes its token on 401 (the 60 s TTL runs out
during a long wait) and retries transport errors within its own budget; past that
budget the run fails. Unlike Bottlerocket an overall `timeout` may be set; without
it the wait is unbounded, as a warm pool can keep an instance for days (stopped).
Marker: `/var/lib/kindling/warm-pool-wait.ran`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kindling import log
from kindling.errors import KindlingError, PlanBoundary
from kindling.record import record

if TYPE_CHECKING:
    from kindling.host import Host
    from platforms.aws.instance import Instance
    from platforms.aws.node_settings import NodeSettings

__all__ = ["INTERVAL", "IN_SERVICE", "MARKER", "WaitReport", "WarmPoolTimeout", "run_warm_pool_wait", "wait_in_service"]

MARKER = "/var/lib/kindling/warm-pool-wait.ran"
IN_SERVICE = "InService"
INTERVAL = 5.0


class WarmPoolTimeout(KindlingError):
    """The instance was not put in service within the given timeout."""


@record(frozen=True)
class WaitReport:
    waited: bool
    detail: str
    polls: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"waited": self.waited, "detail": self.detail, "polls": self.polls, "seconds": round(self.seconds, 3)}


def wait_in_service(instance: Instance, *, interval: float = INTERVAL, timeout: float | None = None) -> int:
    """Poll until `InService`; returns the number of polls. Waits on the Host clock."""
    clock = instance.host.clock
    logger = log.get("warm-pool-wait")
    start = clock.monotonic()
    polls = 0
    last: str | None = "?"
    while True:
        polls += 1
        state = instance.target_lifecycle_state()
        if state == IN_SERVICE:
            return polls
        if polls == 1:
            instance.host.waiting(f"the warm pool to put this instance {IN_SERVICE}", timeout)
        if state != last:
            logger.info("not in service yet", target_lifecycle_state=state or "absent", every=f"{interval:g}s")
            last = state
        if timeout is not None and clock.monotonic() - start + interval > timeout:
            raise WarmPoolTimeout(
                f"imds {'meta-data/autoscaling/target-lifecycle-state'}: not {IN_SERVICE} after "
                f"{clock.monotonic() - start:.0f}s (timeout {timeout:g}s; last state {state or 'absent'})"
            )
        clock.sleep(interval)


def run_warm_pool_wait(
    host: Host,
    *,
    settings: NodeSettings | None = None,
    interval: float = INTERVAL,
    timeout: float | None = None,
    instance: Instance | None = None,
) -> WaitReport:
    """One warm-pool-wait run: nothing to do, or wait, then write the marker."""
    from kindling.first_boot import marker_done, write_marker
    from platforms.aws.instance import Instance
    from platforms.aws.node_settings import load_node_settings

    if marker_done(host, MARKER, "warm-pool-wait"):
        return WaitReport(False, f"already done ({MARKER} exists)")
    settings = settings or load_node_settings(host)
    if not settings.should_wait:
        return WaitReport(False, "settings.autoscaling.should-wait is false: not waiting")
    inst = instance or Instance(host, settings)
    start = host.clock.monotonic()
    try:
        polls = wait_in_service(inst, interval=interval, timeout=timeout)
    except PlanBoundary as stop:
        limit = "no time limit" if timeout is None else f"at most {timeout:g}s"
        stop.then += [f"poll imds meta-data/autoscaling/target-lifecycle-state every {interval:g}s "
                      f"until {IN_SERVICE} ({limit})", f"write {MARKER}"]
        raise
    seconds = host.clock.monotonic() - start
    write_marker(host, MARKER, IN_SERVICE)
    log.get("warm-pool-wait").info("in service", polls=polls, waited=f"{seconds:.0f}s")
    return WaitReport(True, f"{IN_SERVICE} after {polls} polls", polls, seconds)
