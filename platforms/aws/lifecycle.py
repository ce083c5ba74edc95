"""lifecycle complete: answer the Auto Scaling launch lifecycle hook (issue 8, item 4).

Bottlerocket has no equivalent; users script `aws autoscaling complete-lifecycle-action`
in bootstrap containers. If `settings.autoscaling.lifecycle-hook-name` is set:

1. `DescribeAutoScalingInstances` for this instance: the group, and the lifecycle
   state. Only `Pending:Wait` / `Warmed:Pending:Wait` have an action to complete;
   any other state means there is nothing to answer (already completed, or the
   hook is not a launch hook) and the run ends cleanly. An instance outside any
   group, with a hook name set, is a configuration error.
2. The boot's verdict (`instance.boot_verdict`: systemd settled, or the warm-up
   snapshot), sending `RecordLifecycleActionHeartbeat` every `heartbeat` seconds
   while waiting so a slow boot does not hit the hook's timeout.
3. `CompleteLifecycleAction` with CONTINUE after a good boot, ABANDON after a bad one.

No first-boot marker, on purpose: a warm-pool instance passes `Warmed:Pending:Wait`
on its warm-up boot and `Pending:Wait` on a later one; the group's state is the
record of what is still to be answered, and asking it makes a rerun harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kindling import log
from kindling.errors import NotFoundError, PlanBoundary, UsageError
from kindling.record import field, record
from platforms.aws.errors import AwsApiError

if TYPE_CHECKING:
    from kindling.host import Host
    from platforms.aws.instance import Instance
    from platforms.aws.node_settings import NodeSettings
    from platforms.aws.system_state import SystemStatus

__all__ = [
    "HEARTBEAT",
    "PENDING_STATES",
    "RESULTS",
    "LifecycleReport",
    "complete_action",
    "describe_instance",
    "record_heartbeat",
    "run_lifecycle_complete",
]

PENDING_STATES = ("Pending:Wait", "Warmed:Pending:Wait")
RESULTS = ("CONTINUE", "ABANDON")
HEARTBEAT = 60.0
_MEMBER = "DescribeAutoScalingInstancesResult/AutoScalingInstances/member"


@record(frozen=True)
class LifecycleReport:
    completed: bool
    detail: str
    result: str | None = None
    group: str | None = None
    lifecycle_state: str | None = None
    heartbeats: int = 0
    failed_units: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "completed": self.completed,
            "detail": self.detail,
            "result": self.result,
            "group": self.group,
            "lifecycle_state": self.lifecycle_state,
            "heartbeats": self.heartbeats,
            "failed_units": list(self.failed_units),
        }


def describe_instance(instance: Instance) -> tuple[str, str] | None:
    """(group name, lifecycle state) of this instance, or None outside any group."""
    from platforms.aws.query_api import AUTOSCALING, find_text

    root = instance.api().call(
        AUTOSCALING, "DescribeAutoScalingInstances", {"InstanceIds": [instance.instance_id()]}, mutating=False
    )
    if root is None:
        return None
    group = find_text(root, f"{_MEMBER}/AutoScalingGroupName")
    state = find_text(root, f"{_MEMBER}/LifecycleState")
    if not group or not state:
        return None
    return group, state


def _hook_params(instance: Instance, group: str) -> dict[str, str]:
    return {
        "LifecycleHookName": instance.settings.lifecycle_hook_name,
        "AutoScalingGroupName": group,
        "InstanceId": instance.instance_id(),
    }


def record_heartbeat(instance: Instance, group: str) -> None:
    from platforms.aws.query_api import AUTOSCALING

    instance.api().call(AUTOSCALING, "RecordLifecycleActionHeartbeat", _hook_params(instance, group), mutating=True)


def complete_action(instance: Instance, group: str, result: str) -> None:
    from platforms.aws.query_api import AUTOSCALING

    if result not in RESULTS:
        raise UsageError(f"result must be one of {', '.join(RESULTS)}")
    params = {**_hook_params(instance, group), "LifecycleActionResult": result}
    instance.api().call(AUTOSCALING, "CompleteLifecycleAction", params, mutating=True)


def run_lifecycle_complete(
    host: Host,
    *,
    settings: NodeSettings | None = None,
    result: str | None = None,
    timeout: float = 900.0,
    heartbeat: float = HEARTBEAT,
    verdict: Callable[[Instance], SystemStatus] | None = None,
    instance: Instance | None = None,
) -> LifecycleReport:
    """One run. `result` forces CONTINUE/ABANDON; `verdict` replaces the wait on systemd."""
    from platforms.aws.instance import Instance, boot_verdict
    from platforms.aws.node_settings import load_node_settings

    logger = log.get("lifecycle")
    settings = settings or load_node_settings(host)
    hook = settings.lifecycle_hook_name
    if not hook:
        return LifecycleReport(False, "settings.autoscaling.lifecycle-hook-name is unset: nothing to complete")
    inst = instance or Instance(host, settings)
    try:
        found = describe_instance(inst)
        if found is None:
            raise NotFoundError(
                f"autoscaling: instance {inst.instance_id()} is in no Auto Scaling group, but "
                "settings.autoscaling.lifecycle-hook-name is set"
            )
        group, state = found
        if state not in PENDING_STATES:
            return LifecycleReport(False, f"no lifecycle action pending (state {state})", None, group, state)
        beats = 0
        system: SystemStatus | None = None
        if result is None:

            def beat(current: str) -> None:
                nonlocal beats
                try:
                    record_heartbeat(inst, group)
                    beats += 1
                except AwsApiError as exc:  # the hook's own timeout is the backstop
                    logger.warning("heartbeat failed", error=str(exc))

            system = verdict(inst) if verdict is not None else boot_verdict(
                inst, timeout=timeout, tick=heartbeat, on_tick=beat
            )
            result = "CONTINUE" if system.healthy else "ABANDON"
            logger.info("system state", state=system.describe())
        complete_action(inst, group, result)
    except PlanBoundary as stop:
        when = "if the instance waits in Pending:Wait or Warmed:Pending:Wait"
        if result is None:
            stop.then.append(f"wait for the boot to settle (at most {timeout:g}s), "
                             f"with a heartbeat every {heartbeat:g}s ({when})")
        what = result or "CONTINUE after a good boot, ABANDON after a bad one"
        stop.then.append(f"complete lifecycle hook {hook} with {what} ({when})")
        raise
    finally:
        inst.close()
    logger.info("lifecycle action completed", result=result, group=group, hook=hook, heartbeats=beats)
    return LifecycleReport(
        True, f"{result} for hook {hook} in group {group}", result, group, state, beats,
        system.failed_units if system else (),
    )
