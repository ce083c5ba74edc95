"""`kindling status [--wait] [--timeout S] [--json]`: has this node's boot finished, and how?

After `cloud-init status`: one word first (done, failed, running, not started), then
the platform, the timeline's totals, every stage with its reason, and the first-boot
markers. `--wait` blocks until the boot settles, for scripts and image pipelines,
bounded by `--timeout` on the Host clock; it says once what it waits for and for how
long at most.

Sources, all read-only: `/run/kindling/boot-progress.json` and the boot lock
(kindling/boot_progress.py: running, or interrupted), `/run/kindling/timeline.json`
(kindling/boot.py: stages, reasons, times), and the first-boot markers
(kindling/first_boot.py). A timeline without a state file (written by an older
Kindling) still says done or failed from its own `ok`.

Exit codes (as `cloud-init status`, plus two for "not settled"): 0 done, 1 failed,
2 usage, 3 still running (with `--wait`: still running at the deadline), 4 no boot
has run on this root since /run was mounted.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.host import Host
from kindling.record import field, record

__all__ = ["EXIT_CODES", "POLL", "BootStatus", "build_parser", "main", "read_status", "render_text", "wait_for_boot"]

EXIT_CODES = {"done": 0, "failed": 1, "running": 3, "not-started": 4}
POLL = 0.2  # seconds between looks while waiting (two small file reads)
DEFAULT_TIMEOUT = 600.0


@record
class BootStatus:
    """What `status` reports; `to_json` is the `--json` document."""

    state: str  # "done" | "failed" | "running" | "not-started"
    detail: str = ""
    platform: str | None = None
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    stage: str | None = None  # the stage running now
    plan: bool = False
    stages: list[dict[str, Any]] = field(default_factory=list)
    markers: list[dict[str, str]] = field(default_factory=list)

    @property
    def failures(self) -> list[dict[str, str]]:
        return [{"stage": s["name"], "reason": s.get("detail", "")} for s in self.stages if s["status"] == "failed"]

    @property
    def totals(self) -> dict[str, Any]:
        counts = {k: sum(1 for s in self.stages if s["status"] == k) for k in ("ok", "skipped", "failed", "planned")}
        end = max((s["start_ms"] + s["duration_ms"] for s in self.stages), default=0.0)
        return {"stages": len(self.stages), **counts, "duration_ms": round(end, 3)}

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.state]

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "detail": self.detail,
            "platform": self.platform,
            "started": self.started,
            "finished": self.finished,
            "pid": self.pid,
            "stage": self.stage,
            "totals": self.totals,
            "failures": self.failures,
            "stages": [{k: s.get(k) for k in ("name", "status", "detail", "start_ms", "duration_ms")}
                       for s in self.stages],
            "first_boot": self.markers,
        }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _timeline(host: Host) -> dict[str, Any] | None:
    """The last timeline, or None when there is none or it is not one (status never fails on it)."""
    from kindling.analyze import load_timeline
    from kindling.boot import TIMELINE_PATH
    from kindling.errors import KindlingError

    try:
        text = host.read_optional(TIMELINE_PATH)
        return None if text is None else load_timeline(text)
    except KindlingError:
        return None


def _stages(timeline: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in timeline.get("stages", []):
        if isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("status"), str):
            out.append({"name": s["name"], "status": s["status"], "detail": str(s.get("detail", "")),
                        "start_ms": _number(s.get("start_ms")) or 0.0,
                        "duration_ms": _number(s.get("duration_ms")) or 0.0})
    return out


def _markers(host: Host) -> list[dict[str, str]]:
    from kindling.errors import KindlingError
    from kindling.first_boot import marker_state, markers

    out = []
    for path in markers(host):
        try:
            state, detail = marker_state(host, path)
        except KindlingError as exc:
            state, detail = "unreadable", str(exc)
        out.append({"marker": path, "state": state, "detail": detail})
    return out


def read_status(host: Host) -> BootStatus:
    """The boot's status from the state file, the lock and the timeline (reads only)."""
    from kindling.boot_progress import boot_in_progress, read_progress

    state = read_progress(host)
    timeline = _timeline(host)
    status = BootStatus("not-started", markers=_markers(host))
    if (state is None or state["state"] != "running") and boot_in_progress(host):
        # a boot holds the lock but has not written its first state yet (it writes it
        # with the first stage that runs): what the file says is an earlier run's
        status.state, status.detail = "running", "starting"
        return status
    if state is None and timeline is None:
        status.detail = "no boot recorded on this root (run 'kindling boot')"
        return status
    if state is not None:
        status.platform = state.get("platform") if isinstance(state.get("platform"), str) else None
        status.started = _number(state.get("started"))
        status.finished = _number(state.get("finished"))
        status.pid = state["pid"] if isinstance(state.get("pid"), int) else None
        stage = state.get("stage") if isinstance(state.get("stage"), str) else None
        if state["state"] == "running":
            if boot_in_progress(host):
                status.state, status.stage = "running", stage
                since = _number(state.get("stage_started"))
                now = host.clock.time()
                doing = f", stage {stage}" + (f" for {max(now - since, 0):.1f}s" if since else "") if stage else ""
                status.detail = f"pid {status.pid}{doing}" if status.pid else doing.lstrip(", ")
                return status  # the timeline on disk, if any, is an earlier boot's
            status.state, status.stage = "failed", stage
            where = f" during stage {stage}" if stage else ""
            status.detail = (f"interrupted: the boot (pid {status.pid}) stopped{where} without recording "
                             "its end (killed, or it crashed)")
            return status
        error = state.get("error")
        status.state = "done" if state["state"] == "done" else "failed"
        if isinstance(error, str):
            status.detail = error
    if timeline is not None:
        status.stages = _stages(timeline)
        status.plan = bool(timeline.get("plan"))
        status.platform = status.platform or (timeline.get("platform") if isinstance(timeline.get("platform"),
                                                                                    str) else None)
        status.started = status.started or _number(timeline.get("started"))
        if state is None:
            status.state = "done" if timeline.get("ok") else "failed"
    if status.state == "failed" and not status.detail:
        status.detail = "; ".join(f"{f['stage']}: {f['reason']}" for f in status.failures)
    return status


def wait_for_boot(host: Host, timeout: float) -> BootStatus:
    """Poll until the boot settles (done or failed) or `timeout` seconds pass on the Host clock."""
    status = read_status(host)
    if status.state not in ("running", "not-started"):
        return status
    what = "the boot to finish" if status.state == "running" else "a boot to start and finish"
    host.waiting(what, timeout)
    deadline = host.clock.monotonic() + timeout
    while status.state in ("running", "not-started"):
        left = deadline - host.clock.monotonic()
        if left <= 0:
            break
        host.clock.sleep(min(POLL, left))
        status = read_status(host)
    return status


def _when(epoch: float | None) -> str:
    return "?" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def render_text(status: BootStatus) -> str:
    word = status.state.replace("-", " ")
    lines = [f"status: {word}"] + ([f"detail: {status.detail}"] if status.detail else [])
    if status.platform:
        lines.append(f"platform: {status.platform}")
    if status.started is not None:
        span = ""
        if status.finished is not None:
            span = f", finished {_when(status.finished)} ({status.finished - status.started:.1f}s)"
        lines.append(f"started: {_when(status.started)}{span}")
    if status.stages:
        t = status.totals
        lines.append(f"stages: {t['stages']} in {t['duration_ms']:.1f} ms ({t['ok']} ok, {t['skipped']} skipped, "
                     f"{t['failed']} failed" + (f", {t['planned']} planned" if t["planned"] else "") + ")"
                     + (" (a plan)" if status.plan else ""))
        lines += [f"  {s['name']:<24} {s['status']}" + (f": {s['detail']}" if s["detail"] else "")
                  for s in status.stages]
    for m in status.markers:
        lines.append(f"first boot: {m['marker']} {m['state']}" + ("" if m["state"] == "done" else f" ({m['detail']})"))
    if not status.markers and status.state != "running":
        lines.append("first boot: no first-boot marker on this root")
    return "\n".join(lines) + "\n"


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86400 seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling status",
        description="Say whether this node's boot is done, running or failed: per stage, with the "
                    "reasons, the platform and the timeline's totals.",
        epilog="exit status: 0 done, 1 failed, 2 usage, 3 still running (with --wait: at the deadline),\n"
               "             4 no boot has run on this root yet\n\n"
               "examples:\n  kindling status\n"
               "  kindling status --wait --timeout 300 && echo node ready   # for scripts\n"
               "  kindling status --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--wait", action="store_true",
                        help="block until the boot is done or failed (a boot not started yet is waited for too)")
    parser.add_argument("--timeout", type=_timeout, default=None, metavar="S",
                        help=f"with --wait: give up after S seconds (default {DEFAULT_TIMEOUT:g}) and exit 3")
    add_common(parser, acts=False)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.timeout is not None and not args.wait:
        parser.error("--timeout bounds --wait: give --wait too")
    host = host_from_args(args)
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    status = wait_for_boot(host, timeout) if args.wait else read_status(host)
    if args.json:
        from kindling.envelope import failure

        ok = status.exit_code == 0  # the envelope's `ok` agrees with the exit status
        why = None if ok else failure(status.detail or status.state, source="boot", kind=status.state)
        emit_json(status.to_json(), ok=ok, error=why)
    else:
        sys.stdout.write(render_text(status))
    return status.exit_code
