"""Appliers: render live settings into the files services read (Bottlerocket's
settings-applier / thar-be-settings, DESIGN §4 `apply`).

A service registers an `Applier` under the entry-point group `kindling.appliers`
with the settings prefixes it consumes. After a commit, `apply` runs exactly the
appliers whose prefixes intersect the changed keys (Bottlerocket's "affected
services"); with no keys it runs them all (boot). One failing applier does not stop
the others; the report says which failed and why.

An applier may also declare `check(host, before, after)`: run inside the commit,
before anything is stored, it refuses a value this node cannot take now (a lowered
kernel lockdown needs a reboot) by raising `SettingsError` naming the key, so the
datastore is left unchanged instead of holding a setting that never takes effect.

An applier whose work ends in a slow program (update-ca-certificates, ~20-30 ms) sets
`overlaps`: it is called first and returns a `Pending` with the program started, the
others run meanwhile, and its outcome is collected last — the run still reports every
applier's final outcome, in name order.

Inside `kindling boot` (`host.in_flight` set by the boot runner) such a program is not
waited for at the end of its commit but left running across the next stages: the same
applier's next run collects it first (never two rebuilds at once; its verdict becomes
that run's), and the boot collects whatever is left before it ends (kindling/boot.py).
On a first boot that hides update-ca-certificates behind the stages between
early-boot-config and apply-settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kindling.dotted import parse_key
from kindling.errors import KindlingError
from kindling.host import Host
from kindling.record import record

__all__ = [
    "Applier",
    "ApplyOutcome",
    "CommitCheck",
    "Pending",
    "affected",
    "check_commit",
    "collect_in_flight",
    "load_appliers",
    "run_appliers",
]


CommitCheck = Callable[[Host, dict[str, Any], dict[str, Any]], None]


@record(frozen=True)
class Pending:
    """An applier's work with a program still running: `done` says what it did so far;
    `finish()` waits for the program and returns the rest of its lines, or raises
    `KindlingError` when it failed."""

    done: list[str]
    finish: Callable[[], list[str]]
    running: str = "its program"  # what is left running, for a report made before it ends

    def wait(self) -> list[str]:
        """Everything it did, once the program has finished (a direct, unoverlapped call)."""
        return self.done + self.finish()


@record(frozen=True)
class Applier:
    """`apply(host, settings)` writes files from the live tree; returns what it did
    (or, with `overlaps`, may return a `Pending` whose program runs on).

    `check(host, before, after)`, when given, vets a commit before it is stored.
    `outputs` names the files it may write (absolute, `fnmatch` patterns allowed): what
    `kindling support-bundle` collects, from the registry rather than a list of its own."""

    name: str
    prefixes: tuple[str, ...]
    apply: Callable[[Host, dict[str, Any]], list[str] | Pending]
    check: CommitCheck | None = None
    outputs: tuple[str, ...] = ()
    overlaps: bool = False


@record(frozen=True)
class ApplyOutcome:
    name: str
    ok: bool
    detail: str


def load_appliers(host: Host | None = None) -> list[Applier]:
    """Every registered applier: the fixed ones (`kindling.appliers`) and those a source
    builds from files under the root (`kindling.applier_sources`, called with `host`;
    None lists what is shipped, e.g. the template consumers without user templates)."""
    from kindling.registry import load

    found = [a for a in load("kindling.appliers") if isinstance(a, Applier)]
    for source in load("kindling.applier_sources"):
        if callable(source):
            found.extend(a for a in source(host) if isinstance(a, Applier))
    return sorted(found, key=lambda a: a.name)


def _touches(p: list[str], k: list[str]) -> bool:
    """Whether parsed keys `p` and `k` overlap: one is the other or a subtree of it."""
    n = min(len(p), len(k))
    return p[:n] == k[:n]


def affected(appliers: list[Applier], changed: list[str] | None) -> list[Applier]:
    """The appliers to run for `changed` dotted keys (None: all of them); each key and
    prefix is parsed once (a first boot's commits compared ~950 pairs)."""
    if changed is None:
        return list(appliers)
    keys = [parse_key(k.removeprefix("settings.")) for k in changed]
    if not keys:
        return []
    parsed = {p: parse_key(p) for a in appliers for p in a.prefixes}
    return [a for a in appliers if any(_touches(parsed[p], k) for p in a.prefixes for k in keys)]


def check_commit(
    host: Host,
    before: dict[str, Any],
    after: dict[str, Any],
    appliers: list[Applier] | None = None,
    *,
    errors: list[KindlingError] | None = None,
) -> None:
    """Run the `check` of each applier whose keys the commit changes; the first
    refusal raises (and the commit stores nothing). With `errors`, each applier's
    refusal is appended there and the next applier is checked (`kindling validate`)."""
    for applier in appliers if appliers is not None else load_appliers():
        if applier.check is None:
            continue
        if any(_subtree(before, p) != _subtree(after, p) for p in applier.prefixes):
            try:
                applier.check(host, before, after)
            except KindlingError as exc:
                if errors is None:
                    raise
                errors.append(exc)


def _subtree(tree: dict[str, Any], prefix: str) -> Any:
    node: Any = tree
    for segment in parse_key(prefix):
        if not isinstance(node, dict):
            return None
        node = node.get(segment)
    return node


def run_appliers(
    host: Host,
    settings: dict[str, Any],
    changed: list[str] | None,
    appliers: list[Applier] | None = None,
) -> list[ApplyOutcome]:
    """Run the affected appliers and collect each one's outcome, in name order; those
    that `overlap` are called first, and their programs collected after the others ran
    (always: a failing or crashing applier never leaves one running unwaited) — or,
    inside a boot (`host.in_flight`), left running for a later run or the boot's end."""
    chosen = affected(appliers if appliers is not None else load_appliers(host), changed)
    in_flight = host.in_flight
    earlier = {i: in_flight.pop(a.name) for i, a in enumerate(chosen)
               if in_flight is not None and a.name in in_flight}  # fmt: skip
    results: dict[int, ApplyOutcome | Pending] = {}
    # overlapping first (their programs run while the others work); one whose program from
    # an earlier commit is still running last (it is waited for before it runs again)
    order = sorted(range(len(chosen)), key=lambda i: (i in earlier, not chosen[i].overlaps))
    try:
        for i in order:
            applier = chosen[i]
            before = _collect(applier.name, earlier.pop(i), rest=True) if i in earlier else None
            try:
                done = applier.apply(host, settings)
            except KindlingError as exc:
                results[i] = _joined(before, ApplyOutcome(applier.name, False, str(exc)))
                continue
            if isinstance(done, Pending) and before is None:
                results[i] = done
            else:  # (a rebuild right after a collected one is rare: waited here, not overlapped)
                results[i] = _joined(before, _collect(applier.name, done) if isinstance(done, Pending)
                                     else _outcome(applier.name, done))
    finally:
        for i, left in earlier.items():  # not reached: a crash came first
            results[i] = _collect(chosen[i].name, left, rest=True)
        for i, result in results.items():
            if not isinstance(result, Pending):
                continue
            if in_flight is not None:
                in_flight[chosen[i].name] = result
                results[i] = _outcome(chosen[i].name, [*result.done, f"{result.running} left running "
                                                       "(collected by its next run or at the end of the boot)"])
            else:
                results[i] = _collect(chosen[i].name, result)
    return [r for _, r in sorted(results.items()) if isinstance(r, ApplyOutcome)]


def collect_in_flight(host: Host) -> list[ApplyOutcome]:
    """Wait for every program appliers left running in this boot: what each program did
    (its applier's earlier lines were reported by the run that started it)."""
    in_flight = host.in_flight or {}
    return [_collect(name, in_flight.pop(name), rest=True) for name in sorted(in_flight)]


def _collect(name: str, pending: Pending, *, rest: bool = False) -> ApplyOutcome:
    """Wait for `pending`: the whole outcome, or with `rest` only what came after `done`."""
    try:
        return _outcome(name, pending.finish() if rest else pending.wait())
    except KindlingError as exc:
        return ApplyOutcome(name, False, str(exc))


def _lines(outcome: ApplyOutcome) -> list[str]:
    return [] if outcome.detail == "unchanged" else [outcome.detail]


def _joined(before: ApplyOutcome | None, now: ApplyOutcome) -> ApplyOutcome:
    """An earlier program's verdict and this run's, as one outcome (either failing fails it)."""
    if before is None:
        return now
    return ApplyOutcome(now.name, before.ok and now.ok, "; ".join(_lines(before) + _lines(now)) or "unchanged")


def _outcome(name: str, done: list[str]) -> ApplyOutcome:
    return ApplyOutcome(name, True, "; ".join(done) or "unchanged")
