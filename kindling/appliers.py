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

Inside a boot each applier's successful run is also noted (`host.applied`: the settings
under its prefixes it was given, the paths it resolved, its per-boot effects), so the
boot's apply-settings runs only the appliers no commit of this boot has already applied
to the settings as they are now (`run_unapplied`): a first boot's user data commit ran
most of them a few stages earlier. One that failed, or whose settings a later commit
changed, runs again; the others are reported as already applied, and their inputs and
effects count for apply-settings' fingerprint as if they had run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kindling.dotted import parse_key
from kindling.errors import KindlingError
from kindling.host import Host
from kindling.jsonio import dumps
from kindling.record import record

__all__ = [
    "Applied",
    "Applier",
    "ApplyOutcome",
    "CommitCheck",
    "Pending",
    "affected",
    "check_commit",
    "collect_in_flight",
    "load_appliers",
    "run_appliers",
    "run_unapplied",
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


ALREADY = "already applied in this boot"


@record(frozen=True)
class Applied:
    """An applier's last successful run in this boot (`host.applied`): `given`, the
    settings under its prefixes then; `seen` and `replay`, what the boot's fingerprint
    noted of that run (kindling/boot_fingerprint.py), for the stage that skips it."""

    given: str
    seen: frozenset[str]
    replay: tuple[tuple[str, str, bytes, int], ...]


def _given(settings: dict[str, Any], applier: Applier) -> str:
    """The settings `applier` reads (its prefixes' subtrees), as one canonical string:
    a copy no later change to `settings` can alter."""
    return dumps([_subtree(settings, p) for p in applier.prefixes], sort_keys=True, separators=(",", ":"))


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
    memo = host.applied
    noted: dict[int, Applied] = {}
    if memo is not None:
        for applier in chosen:  # it runs again: what it did before no longer vouches for it
            memo.pop(applier.name, None)
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
                done, note = _apply_noted(host, applier, settings)
            except KindlingError as exc:
                results[i] = _joined(before, ApplyOutcome(applier.name, False, str(exc)))
                continue
            if note is not None:
                noted[i] = note
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
    if memo is not None:  # left running counts: `run_unapplied` collects it before it trusts it
        memo.update((chosen[i].name, noted[i]) for i, r in results.items()
                    if i in noted and isinstance(r, ApplyOutcome) and r.ok)
    return [r for _, r in sorted(results.items()) if isinstance(r, ApplyOutcome)]


def _apply_noted(host: Host, applier: Applier, settings: dict[str, Any]) -> tuple[list[str] | Pending, Applied | None]:
    """`applier.apply`; inside a boot's stage (`host.applied`, `host.seen`), with what it
    resolved and its per-boot effects also noted apart: its `Applied`, None elsewhere."""
    seen, replay = host.seen, host.replay
    if host.applied is None or seen is None or replay is None:
        return applier.apply(host, settings), None
    given = _given(settings, applier)
    mine: set[str] = set()
    effects: list[tuple[str, str, bytes, int]] = []
    host.seen, host.replay = mine, effects
    try:
        done = applier.apply(host, settings)
    finally:  # the stage's fingerprint still notes everything, as before
        seen |= mine
        replay.extend(effects)
        host.seen, host.replay = seen, replay
    return done, Applied(given, frozenset(mine), tuple(effects))


def run_unapplied(
    host: Host, settings: dict[str, Any], appliers: list[Applier] | None = None
) -> tuple[list[ApplyOutcome], int]:
    """Every applier, as `run_appliers(host, settings, None)`, except those a commit of
    this boot already applied to these settings (`host.applied`: the subtrees under
    their prefixes equal); those are reported as already applied, their program left
    running from that commit collected first (one that failed runs again), and what
    their run resolved and replays is noted for this stage's fingerprint as if they ran
    again. Returns every applier's outcome, in name order, and how many were skipped.
    Outside a boot (`host.applied` None) every applier runs."""
    everyone = appliers if appliers is not None else load_appliers(host)
    memo = host.applied
    if memo is None:
        return run_appliers(host, settings, None, everyone), 0
    done = {a.name: last for a in everyone
            if (last := memo.get(a.name)) is not None and last.given == _given(settings, a)}  # fmt: skip
    outcomes = run_appliers(host, settings, None, [a for a in everyone if a.name not in done])
    in_flight = host.in_flight or {}
    failed: dict[str, ApplyOutcome] = {}
    for name in sorted(done):  # their programs ran meanwhile, as those of a run do
        pending = in_flight.pop(name, None)
        verdict = _collect(name, pending, rest=True) if pending is not None else None
        if verdict is not None and not verdict.ok:
            failed[name] = verdict
            continue
        last = done[name]
        if host.seen is not None:
            host.seen |= last.seen
        if host.replay is not None:
            host.replay.extend(last.replay)
        outcomes.append(ApplyOutcome(name, True, "; ".join([ALREADY, *(_lines(verdict) if verdict else [])])))
    if failed:  # the commit's program failed after all: the applier runs again
        again = run_appliers(host, settings, None, [a for a in everyone if a.name in failed])
        outcomes.extend(_joined(failed[o.name], o) for o in again)
    outcomes.sort(key=lambda o: o.name)
    return outcomes, len(done) - len(failed)


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
