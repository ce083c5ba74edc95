"""The settings API below HTTP: the one implementation both the server and the direct
client use (issue 2, items 5-6), so a socket and no socket behave the same.

Every write validates against the model first (DESIGN §6): a bad PATCH leaves the
datastore byte-for-byte unchanged. Commits re-validate the merged tree.
"""

from __future__ import annotations

import _thread  # threading's own primitives: `threading` itself costs ~0.5 ms on every boot

from kindling.apply_lock import apply_lock
from kindling.datastore import DATASTORE_PATH, Datastore, check_tx_name, plan_state_for
from kindling.dotted import format_key, parse_key
from kindling.errors import InputError, NotFoundError
from kindling.host import Host
from kindling.record import record

TYPE_CHECKING = False  # the settings model and the appliers load on first write / apply
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from kindling.appliers import ApplyOutcome

if TYPE_CHECKING:
    from kindling.settings.owners import KeyEffect

__all__ = ["CommitReport", "SettingsService", "release_thread_stores", "select"]

_OPEN = _thread._local()


@record(frozen=True)
class CommitReport:
    """What a commit changed and, if applied, what each applier did."""

    changed: list[str]
    applied: list[ApplyOutcome]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.applied)

    def effects(self) -> list[KeyEffect]:
        """Per changed key: applied by X / read by Y at boot / stored for Z (DESIGN §6)."""
        from kindling.settings.owners import effects

        return effects(self.changed, self.applied)


def release_thread_stores() -> None:
    """Close the datastore connections this thread cached (`SettingsService._store`).

    A thread that ends leaves them to the cyclic garbage collector, which may run
    much later: the apiserver (one thread per connection) held ~2 descriptors per
    request until then (found by tests/reliability/test_apiserver_resources.py).
    """
    for _inode, store in _OPEN.__dict__.pop("stores", {}).values():
        store.close()


def _strip_settings(segments: list[str]) -> list[str]:
    if not segments or segments[0] != "settings":
        raise InputError("keys must start with 'settings'", source="keys")
    return segments[1:]


def select(tree: dict[str, Any], key: str, *, source: str = "keys") -> dict[str, Any]:
    """The part of `tree` under dotted `key` (with `settings.`), re-rooted; {} if absent.

    `source` is the query parameter the key came from, so an error names it."""
    segments = _strip_settings(parse_key(key, source=source))
    node: Any = tree
    for segment in segments:
        if not isinstance(node, dict) or segment not in node:
            return {}
        node = node[segment]
    out: Any = node
    for segment in reversed(segments):
        out = {segment: out}
    return out if isinstance(out, dict) else {}


class SettingsService:
    """Settings operations on one Host's datastore."""

    def __init__(self, host: Host) -> None:
        self.host = host
        # Under --plan each call opens its own read-only connection; what the plan
        # PATCHed and committed is kept here so later calls (and appliers) see it.
        self._plan = plan_state_for(host)

    def _store(self) -> Datastore:
        """One connection per datastore file and thread, reused by every service.

        A boot makes a dozen settings calls from several stages; opening SQLite,
        setting WAL and checking the schema each time cost ~1 ms apiece (DESIGN §8).
        Autocommit mode means a reused connection never reads a stale snapshot.
        A plan gets its own read-only connection carrying the plan's state.
        """
        if self.host.recording:
            return Datastore(self.host, plan=self._plan)
        cache: dict[tuple[str, int], tuple[int, Datastore]] = _OPEN.__dict__.setdefault("stores", {})
        file = self.host.path(DATASTORE_PATH)
        key = (str(file), _thread.get_ident())
        try:
            inode = file.stat().st_ino
        except OSError:
            inode = -1
        cached = cache.get(key)
        if cached is not None and cached[0] == inode:
            store = cached[1]
            store.host = self.host  # actions and clock belong to the caller's Host
            return store
        if cached is not None:
            cached[1].close()  # the file was replaced or removed under us
        store = Datastore(self.host, keep_open=True)
        cache[key] = (file.stat().st_ino, store)
        return store

    # -- reads -----------------------------------------------------------------------
    def get_settings(
        self, *, keys: list[str] | None = None, prefix: str | None = None
    ) -> dict[str, Any]:
        """Live settings without the outer key; filtered by full keys or a prefix."""
        from kindling.merge import merge

        with self._store() as store:
            live = store.live()
        if not keys and not prefix:
            return live
        out: dict[str, Any] = {}
        named = [*(("keys", k) for k in keys or []), *([("prefix", prefix)] if prefix else [])]
        for source, key in named:
            out = merge(out, select(live, key, source=source))
        return out

    def get_tx(self, tx: str) -> dict[str, Any]:
        check_tx_name(tx)
        with self._store() as store:
            return store.pending(tx)

    def transactions(self) -> list[str]:
        with self._store() as store:
            return store.transactions()

    # -- writes ----------------------------------------------------------------------
    def patch(self, tx: str, body: Any, *, source: str = "request body") -> int:
        """Validate a partial tree and lay it over transaction `tx`."""
        check_tx_name(tx)
        from kindling.settings import validate_settings

        tree = validate_settings(body, source=source)
        with self._store() as store:
            return store.patch(tx, tree)

    def delete_tx(self, tx: str) -> list[str]:
        check_tx_name(tx)
        with self._store() as store:
            return [f"settings.{k}" for k in store.delete_tx(tx)]

    def commit(self, tx: str) -> list[str]:
        """Make `tx` live; returns the changed keys (with `settings.`)."""
        check_tx_name(tx)
        return self._commit(tx, lambda store, vet: store.commit(tx, vet))

    def _commit(self, tx: str, write: Callable[[Datastore, Callable[[dict[str, Any]], dict[str, Any]]], list[str]]
                ) -> list[str]:
        """`write` makes `tx` live under the apply lock, the merged tree vetted as a whole."""
        from kindling.appliers import check_commit

        with apply_lock(self.host), self._store() as store:
            from kindling.settings import validate_settings

            before = store.live()

            def vet(tree: dict[str, Any]) -> dict[str, Any]:
                after = validate_settings(tree, source=f"tx {tx}")
                check_commit(self.host, before, after)
                return after

            changed = write(store, vet)
        return [f"settings.{k}" for k in changed]

    def apply(self, keys: list[str] | None = None) -> list[ApplyOutcome]:
        """Run the appliers affected by `keys` (all of them when None)."""
        for key in keys or []:
            _strip_settings(parse_key(key, source="keys"))
        from kindling.appliers import run_appliers

        with apply_lock(self.host):
            return run_appliers(self.host, self.get_settings(), keys)

    def apply_unapplied(self) -> tuple[list[ApplyOutcome], int]:
        """Every applier but those this boot's commits already applied to the live
        settings (`kindling.appliers.run_unapplied`): the boot's apply-settings. Returns
        every applier's outcome and how many of them were already applied."""
        from kindling.appliers import run_unapplied

        with apply_lock(self.host):
            return run_unapplied(self.host, self.get_settings())

    def commit_and_apply(self, tx: str) -> CommitReport:
        """Commit then apply under one machine-wide lock (`kindling.apply_lock`), so
        the files the appliers write follow the commits in the order they happened."""
        check_tx_name(tx)
        return self._commit_and_apply(tx, lambda store, vet: store.commit(tx, vet))

    def _commit_and_apply(
        self, tx: str, write: Callable[[Datastore, Callable[[dict[str, Any]], dict[str, Any]]], list[str]]
    ) -> CommitReport:
        with apply_lock(self.host):
            changed = self._commit(tx, write)
            applied = self.apply(changed) if changed else []
        return CommitReport(changed, applied)

    def set_tree(self, tree: Any, *, tx: str, source: str) -> CommitReport:
        """PATCH + commit + apply in one call (apiclient set/apply, early-boot-config).

        Validation happens before anything is written; PATCH and commit are one SQLite
        transaction, and a failed commit also drops what `tx` held before, so bad input
        leaves no trace.
        """
        check_tx_name(tx)
        from kindling.settings import validate_settings

        checked = validate_settings(tree, source=source)
        try:  # PATCH and commit: one SQLite transaction, one WAL sync
            return self._commit_and_apply(tx, lambda store, vet: store.patch_and_commit(tx, checked, vet))
        except Exception:
            try:
                self.delete_tx(tx)
            except NotFoundError:
                pass
            raise

    def affected_services(self, keys: list[str]) -> dict[str, list[str]]:
        """`GET /metadata/affected-services`: each key → its owners' names (the model's table)."""
        from kindling.settings.owners import affected_services

        return affected_services(keys)

    def os_info(self) -> dict[str, str]:
        """GET /os: the host's os-release plus Kindling's version."""
        import platform

        from kindling import __version__

        info: dict[str, str] = {"kindling_version": __version__, "arch": platform.machine()}
        text = self.host.read_optional("/etc/os-release") or ""
        wanted = {"ID": "id", "VERSION_ID": "version_id", "PRETTY_NAME": "pretty_name"}
        for line in text.splitlines():
            name, sep, value = line.partition("=")
            if sep and name in wanted:
                info[wanted[name]] = value.strip().strip('"')
        return info


def keys_of(tree: dict[str, Any]) -> list[str]:
    """Dotted `settings.` keys of every leaf in `tree` (for reports, never values)."""
    from kindling.merge import flatten

    return [format_key(("settings", *p)) for p, _ in flatten(tree)]
