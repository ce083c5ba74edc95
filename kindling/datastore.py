"""The settings datastore: SQLite in WAL mode, a live tree and named pending transactions.

Layout (DESIGN §3, `/var/lib/kindling/datastore.sqlite3`, mode 0600, dir 0700):
- `live(key, value)`: one row per leaf, `key` the dotted path below `settings`,
  `value` its JSON. Lists are leaves, so they are replaced whole (DESIGN §5).
- `pending(tx, key, value)`: the same, per named transaction (Bottlerocket's
  `bottlerocket-launch` becomes `kindling-launch`).
- `commits(id, tx, at, keys)`: what each commit changed, for appliers and audit.

The file carries its layout's version in SQLite's `user_version` (`SCHEMA_VERSION`).
A file with another version, or with tables that are not this layout, is refused with
one line naming the version; a Kindling datastore from before versioning (version 0
with exactly these tables) is stamped in place. A row whose value is not JSON is an
error naming its key, never a traceback.

A commit is one SQLite transaction (`BEGIN IMMEDIATE`, `synchronous=FULL`): a process
killed at any instant leaves the live tree exactly as before or exactly as after.
Concurrent writers queue on SQLite's lock (busy timeout), never interleave. A
`RecordingHost` (`--plan`) opens the file read-only and records what it would write.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import weakref
from collections.abc import Callable, Iterable

from kindling.datastore_path import DATASTORE_PATH
from kindling.dotted import format_key, parse_key
from kindling.errors import HostError, InputError, NotFoundError
from kindling.host import Host, make_dirs
from kindling.merge import flatten, merge, unflatten
from kindling.nesting import loads_json

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DATASTORE_PATH",
    "DEFAULT_TX",
    "SCHEMA_VERSION",
    "Datastore",
    "PlanState",
    "check_tx_name",
    "live_tree",
    "plan_state_for",
    "read_only_uri",
]

DEFAULT_TX = "default"
SCHEMA_VERSION = 1
_TABLES = {"live", "pending", "commits"}
_TX_NAME = r"[A-Za-z0-9._-]{1,64}"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS live (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    tx TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (tx, key));
CREATE TABLE IF NOT EXISTS commits (
    id INTEGER PRIMARY KEY AUTOINCREMENT, tx TEXT NOT NULL, at REAL NOT NULL,
    keys TEXT NOT NULL);
"""


def _enable_wal(conn: sqlite3.Connection) -> None:
    """`PRAGMA journal_mode=WAL`, retried while another process does the same.

    On a fresh datastore opened by several processes at once (apiserver and a boot
    stage at first boot), SQLite answers the mode switch with "database is locked"
    at once, without its busy handler (found by tests/reliability/test_datastore_race.py).
    The lock is real, so the wait is real time (as busy_timeout's), not the Host clock.
    """
    from kindling.host import RealClock
    from kindling.retry import Retryable, RetryBudgetExceeded, RetryPolicy, retry

    def switch() -> None:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            raise Retryable("datastore: switching to WAL: database is locked") from exc

    try:
        retry(switch, clock=RealClock(), what="datastore open",
              policy=RetryPolicy(first=0.005, cap=0.1, budget=10.0, jitter=0.5))
    except RetryBudgetExceeded as exc:
        raise sqlite3.OperationalError(str(exc)) from exc


class PlanState:
    """What a `--plan` run would have written: pending trees and the would-be live tree.

    A RecordingHost opens the datastore read-only; the PATCHes and commits of one plan
    (possibly over several connections) accumulate here so later reads see them.
    """

    def __init__(self) -> None:
        self.pending: dict[str, dict[str, Any]] = {}
        self.live: dict[str, Any] | None = None


_PLANS: weakref.WeakKeyDictionary[Host, PlanState] = weakref.WeakKeyDictionary()


def read_only_uri(file: str) -> str:
    """The SQLite URI that reads `file` without writing beside it: with no WAL the file
    is the whole state, and `immutable` keeps SQLite from creating -wal/-shm (a plan,
    or a fingerprint, leaves the directory as it was)."""
    uri = f"file:{file}?mode=ro"
    return uri if os.path.exists(file + "-wal") else uri + "&immutable=1"


def plan_state_for(host: Host) -> PlanState:
    """The one PlanState of a plan run, shared by every reader of that Host.

    `kindling boot --plan` runs early-boot-config, then stages that read settings in
    their own services: they must see what the launch transaction would have
    committed, or the plan predicts a different node than the boot makes.
    """
    state = _PLANS.get(host)
    if state is None:
        state = _PLANS[host] = PlanState()
    return state


def check_tx_name(tx: str) -> str:
    """Transaction names are short ASCII identifiers (they appear in URLs and logs)."""
    if not re.fullmatch(_TX_NAME, tx):
        raise InputError("transaction name must be 1-64 characters of [A-Za-z0-9._-]", source="tx")
    return tx


def _segments(key: str) -> tuple[str, ...]:
    return tuple(parse_key(key, source="datastore key"))


def live_tree(rows: Iterable[Any], where: str) -> dict[str, Any]:
    """The settings tree of `live` rows ([key, JSON text] pairs, as stored); a row that is
    not one names `where` and its key."""
    pairs = []
    for row in rows:
        if not isinstance(row, list | tuple) or len(row) != 2:
            raise HostError(f"{where}: a row is not a key and its JSON text")
        pairs.append((row[0], row[1]))
    return unflatten(_leaves(pairs, where))


def _copied(value: Any) -> Any:
    """A copy of a JSON tree, down to its leaves' containers (callers may change theirs)."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def _leaves(rows: Iterable[tuple[Any, Any]], where: str) -> list[tuple[tuple[str, ...], Any]]:
    """Stored rows as (segments, value); a row that is not JSON names its key."""
    out = []
    for key, raw in rows:
        if not isinstance(key, str) or not isinstance(raw, str):
            raise HostError(f"{where}: a row is not a key and its JSON text")
        try:
            value = loads_json(raw, source=f"{where}: row {key}")
        except ValueError:
            raise HostError(f"{where}: row {key}: value is not JSON") from None
        out.append((_segments(key), value))
    return out


def _check_schema(conn: sqlite3.Connection, where: str, *, writable: bool) -> None:
    """Refuse a file of another layout; stamp a pre-versioning Kindling datastore."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {str(r[0]) for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    if not tables <= _TABLES:
        raise HostError(f"{where}: not a Kindling datastore (unknown tables)")
    if version == SCHEMA_VERSION:
        return
    if version == 0:
        if writable:  # one transaction: one WAL sync, not one per table (a first boot makes the file)
            try:
                conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return
    raise HostError(
        f"{where}: datastore schema version {version}, this Kindling reads version "
        f"{SCHEMA_VERSION}; refusing to use it")


class Datastore:
    """One connection to the datastore under `host`'s root."""

    def __init__(
        self,
        host: Host,
        *,
        path: str = DATASTORE_PATH,
        plan: PlanState | None = None,
        keep_open: bool = False,
    ) -> None:
        self.host = host
        self.keep_open = keep_open
        self.rel_path = path
        self.file = host.path(path)
        self.read_only = host.recording
        self._plan = plan if plan is not None else plan_state_for(host)
        self._planned = self._plan.pending
        # the live tree as last read, with the connection's `PRAGMA data_version` then: a
        # boot reads it a dozen times (commits' before/after, each apply, each stage)
        self._live: tuple[int, dict[str, Any]] | None = None
        self._conn = self._open()

    # -- connection ---------------------------------------------------------------
    def _open(self) -> sqlite3.Connection | None:
        if self.read_only:
            if not self.file.exists():
                return None
            try:
                uri = read_only_uri(os.fspath(self.file))
                ro = self._configure(sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None))
                _check_schema(ro, self.rel_path, writable=False)
            except sqlite3.Error as exc:
                raise HostError(f"{self.rel_path}: not a usable datastore: {exc}") from exc
            return ro
        try:
            make_dirs(self.file.parent, 0o700)
            if not self.file.exists():
                os.close(os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            conn = sqlite3.connect(self.file, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HostError(f"{self.rel_path}: cannot open datastore: {exc}") from exc
        try:
            conn = self._configure(conn)
            _enable_wal(conn)
            _check_schema(conn, self.rel_path, writable=True)
        except sqlite3.Error as exc:
            conn.close()
            raise HostError(f"{self.rel_path}: not a usable datastore: {exc}") from exc
        except HostError:
            conn.close()
            raise
        return conn

    @staticmethod
    def _configure(conn: sqlite3.Connection) -> sqlite3.Connection:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Datastore:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.keep_open:
            self.close()

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[str, str]]:
        if self._conn is None:
            return []
        try:
            return [(str(k), str(v)) for k, v in self._conn.execute(sql, tuple(args))]
        except sqlite3.Error as exc:
            raise HostError(f"{self.rel_path}: {exc}") from exc

    # -- reading ------------------------------------------------------------------
    def live(self) -> dict[str, Any]:
        """The whole live settings tree (without the outer `settings` key), a fresh copy.

        Read again only when the file changed since: SQLite's `data_version` moves when
        another connection commits, and this connection's own writes (`_write`) forget
        the tree they change."""
        if self.read_only and self._plan.live is not None:
            return self._plan.live
        if self._conn is None:
            return {}
        try:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise HostError(f"{self.rel_path}: {exc}") from exc
        if self._live is None or self._live[0] != version:
            self._live = (version, live_tree(self._rows("SELECT key, value FROM live ORDER BY key"), self.rel_path))
        tree: dict[str, Any] = _copied(self._live[1])
        return tree

    def transactions(self) -> list[str]:
        if self._conn is None:
            return []
        return [str(r[0]) for r in self._conn.execute("SELECT DISTINCT tx FROM pending ORDER BY tx")]

    def pending(self, tx: str) -> dict[str, Any]:
        """The pending tree of `tx`; `NotFoundError` when no such transaction exists."""
        rows = self._rows("SELECT key, value FROM pending WHERE tx = ? ORDER BY key", (tx,))
        if not rows and tx not in self._planned:
            raise NotFoundError(f"transaction {tx!r} not found")
        tree = unflatten(_leaves(rows, self.rel_path))
        return merge(tree, self._planned.get(tx, {}))

    def last_commit_keys(self) -> list[str]:
        if self._conn is None:
            return []
        row = self._conn.execute("SELECT keys FROM commits ORDER BY id DESC LIMIT 1").fetchone()
        if not row:
            return []
        try:
            keys = json.loads(row[0])
        except ValueError:
            raise HostError(f"{self.rel_path}: last commit's key list is not JSON") from None
        return [str(k) for k in keys] if isinstance(keys, list) else []

    # -- writing ------------------------------------------------------------------
    def _write(self, action: str, work: Callable[[sqlite3.Connection], Any], *also: str) -> Any:
        """Run `work` in one IMMEDIATE transaction; a recording host only records.
        `also`: further actions the same transaction carries (`patch_and_commit`)."""
        if self.read_only or self._conn is None:
            self.host.actions.append(f"datastore: {action}")
            return None
        conn = self._conn
        self._live = None  # whatever happens next, this connection's writes change nothing it kept
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise HostError(f"{self.rel_path}: {exc}") from exc
        self.host.actions.extend(f"datastore: {a}" for a in (action, *also))
        return result

    def patch(self, tx: str, tree: dict[str, Any]) -> int:
        """Lay a validated partial tree over transaction `tx`; returns leaves written."""
        check_tx_name(tx)
        leaves = _leaf_rows(tree)

        if self.read_only or self._conn is None:
            self._planned[tx] = merge(self._planned.get(tx, {}), tree)

        written: int | None = self._write(f"patch {tx} ({len(leaves)} keys)",
                                          lambda conn: _patch_rows(conn, tx, leaves))
        return written if written is not None else len(leaves)

    def patch_and_commit(
        self, tx: str, tree: dict[str, Any], validate: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> list[str]:
        """`patch` then `commit` in one SQLite transaction: one WAL sync instead of two
        (each boot stage that sets settings does this), and a failure leaves not even
        the PATCH behind. Returns the dotted keys whose values changed."""
        check_tx_name(tx)
        if self.read_only or self._conn is None:
            self.patch(tx, tree)
            return self.commit(tx, validate)
        leaves = _leaf_rows(tree)

        def work(conn: sqlite3.Connection) -> list[str]:
            _patch_rows(conn, tx, leaves)
            return self._commit_rows(conn, tx, validate)

        result: list[str] = self._write(f"patch {tx} ({len(leaves)} keys)", work, f"commit {tx}")
        return result

    def delete_tx(self, tx: str) -> list[str]:
        """Drop a pending transaction; returns the keys it held."""
        keys = [k for k, _ in self._rows("SELECT key, value FROM pending WHERE tx = ?", (tx,))]
        planned = self._planned.pop(tx, None)
        keys += [format_key(p) for p, _ in flatten(planned or {})]
        if not keys:
            raise NotFoundError(f"transaction {tx!r} not found")
        self._write(f"delete {tx}", lambda c: c.execute("DELETE FROM pending WHERE tx = ?", (tx,)))
        return keys

    def commit(
        self, tx: str, validate: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> list[str]:
        """Make `tx` live atomically; returns the dotted keys whose values changed.

        `validate` sees the whole merged tree (live + pending) inside the
        transaction, so a commit can never leave an invalid live tree, even if the
        model changed since the PATCH.
        """
        if self.read_only or self._conn is None:
            # Plan: compute what would change without writing anything.
            pending_tree = self.pending(tx)
            merged = validate(merge(self.live(), pending_tree))
            live_rows = {format_key(p): json.dumps(v, sort_keys=True) for p, v in flatten(self.live())}
            new_rows = {format_key(p): json.dumps(v, sort_keys=True) for p, v in flatten(merged)}
            changed = sorted(
                k for k in set(new_rows) | set(live_rows) if new_rows.get(k) != live_rows.get(k)
            )
            self._planned.pop(tx, None)
            self._plan.live = merged
            self.host.actions.append(f"datastore: commit {tx} ({len(changed)} keys change)")
            return changed
        result: list[str] = self._write(f"commit {tx}", lambda conn: self._commit_rows(conn, tx, validate))
        return result

    def _commit_rows(
        self, conn: sqlite3.Connection, tx: str, validate: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> list[str]:
        """The commit of `tx` inside an open transaction (see `commit`)."""
        rows = list(conn.execute("SELECT key, value FROM pending WHERE tx = ?", (tx,)))
        if not rows:
            raise NotFoundError(f"transaction {tx!r} not found")
        live_rows = dict(conn.execute("SELECT key, value FROM live"))
        pending_tree = unflatten(_leaves(rows, self.rel_path))
        live_tree = unflatten(_leaves(live_rows.items(), self.rel_path))
        merged = validate(merge(live_tree, pending_tree))
        new_rows = {format_key(p): json.dumps(v, sort_keys=True) for p, v in flatten(merged)}
        changed = sorted(
            k for k in set(new_rows) | set(live_rows) if new_rows.get(k) != live_rows.get(k)
        )
        for key in set(live_rows) - set(new_rows):
            conn.execute("DELETE FROM live WHERE key = ?", (key,))
        for key in changed:
            if key in new_rows:
                conn.execute(
                    "INSERT OR REPLACE INTO live (key, value) VALUES (?, ?)",
                    (key, new_rows[key]),
                )
        conn.execute("DELETE FROM pending WHERE tx = ?", (tx,))
        conn.execute(
            "INSERT INTO commits (tx, at, keys) VALUES (?, ?, ?)",
            (tx, self.host.clock.time(), json.dumps(changed)),
        )
        return changed


def _leaf_rows(tree: dict[str, Any]) -> list[tuple[str, str]]:
    return [(format_key(p), json.dumps(v, sort_keys=True)) for p, v in flatten(tree)]


def _patch_rows(conn: sqlite3.Connection, tx: str, leaves: list[tuple[str, str]]) -> int:
    """Lay `leaves` over `tx` inside an open transaction (see `Datastore.patch`)."""
    for key, value in leaves:
        segments = _segments(key)
        for cut in range(1, len(segments)):
            conn.execute(
                "DELETE FROM pending WHERE tx = ? AND key = ?",
                (tx, format_key(segments[:cut])),
            )
        # A new leaf replaces any leaf it shadows (a map replaced by a list or
        # the reverse), as a merge of trees would.
        conn.execute(
            "DELETE FROM pending WHERE tx = ? AND (key LIKE ? ESCAPE '\\')",
            (tx, _like_prefix(key)),
        )
        conn.execute(
            "INSERT OR REPLACE INTO pending (tx, key, value) VALUES (?, ?, ?)",
            (tx, key, value),
        )
    return len(leaves)


def _like_prefix(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + ".%"
