"""A later boot does only per-boot work: each stage is skipped when nothing it looked at
changed since it last ran (DESIGN §4 `boot`, §8).

While a stage runs, the Host notes every path it resolves (`Host.seen`: reads,
existence checks, listings and the files it writes, which it reads first to compare)
and every per-boot effect it has (`Host.replay`: files under /run, which is empty after
a reboot, and values written into live kernel files such as /proc/sys). Right after
the stage, a digest of those paths is taken — content for files, names for
directories, device numbers and sizes for devices, "absent" for missing ones, and the
live settings table for the datastore — and stored with the stage's result in
`/var/lib/kindling/boot-state.json`.

On the next boot, just before a stage would run, the digest of the same paths is taken
again. When it equals the stored one and the Kindling build, the registered stages and
the platform are the same, the stage's outputs are still exactly what it would write:
it is not run; its per-boot effects are replayed through the Host (so `--plan` shows
them). Anything else — a changed input file, a setting, a removed or edited output, a
new Kindling version or plugin, a stage that failed last time — runs the stage in full.
Stages marked `per_boot` (network status, crash kernel load, drivers, disk growth)
always run: their work is on the running kernel or on devices.

The datastore without SQLite: the state also keeps a digest of the datastore's files
(database, WAL, journal: `store_raw`), the digest of its live settings, and the settings
subtrees stages read through `BootContext.settings` (kdump's, `settings.boot`). While the
files are byte for byte those, the same bytes are the same settings: a later boot takes
both from here and imports no sqlite3. Anything that wrote (a commit, a checkpoint)
changes the bytes: from then on the boot reads the datastore itself. At its end the
boot closes its connections (SQLite checkpoints then), takes the files' digest, the
live settings and the subtrees asked for, and keeps them only if the files did not
change meanwhile: what the next boot compares is what it will find.
"""

from __future__ import annotations

import os
import stat
import sys

from kindling import jsonio
from kindling.datastore_path import DATASTORE_PATH
from kindling.digest import digest
from kindling.host import Host, read_all

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["STATE_PATH", "BootState", "build_key", "digest_paths"]

STATE_PATH = "/var/lib/kindling/boot-state.json"
FORMAT = 1
_BIG = 4 << 20  # files above this are fingerprinted by (size, mtime, inode), not content
_VOLATILE = ("/run/", "/proc/self/", "/proc/uptime", "/proc/loadavg", "/proc/stat")


def build_key(platform: str) -> str:
    """The Kindling build and the registered stages: a new version or plugin reruns all."""
    from kindling import __version__
    from kindling.registry import entry_points

    eps = [f"{e.group}:{e.name}={e.value}@{e.dist}" for g in ("kindling.boot_stages", "kindling.appliers",
           "kindling.user_data_providers") for e in entry_points(g)]  # fmt: skip
    return digest("\n".join([str(FORMAT), __version__, platform, *eps]).encode())


def _datastore_digest(real: str) -> bytes:
    """The live settings, not the file: SQLite moves pages between the WAL and the main
    file on checkpoints without changing a setting."""
    import sqlite3

    from kindling.datastore import read_only_uri

    try:
        conn = sqlite3.connect(read_only_uri(real), uri=True, timeout=30)
        try:
            rows = conn.execute("SELECT key, value FROM live ORDER BY key").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"datastore-error:{exc}".encode()
    return jsonio.dumps(rows).encode()


def _real(host: Host, p: str, dirs: dict[str, str]) -> str:
    """`host.real(p)`, with each directory on the way resolved once per pass (`_located`)."""
    return _located(host, p, dirs)[0]


def _located(host: Host, p: str, dirs: dict[str, str]) -> tuple[str, os.stat_result | None]:
    """(`host.real(p)`, the `lstat` of that last component when it is no symlink).

    Under a root prefix each directory on the way is resolved once per pass: that is an
    lstat per component (kindling/host.py `chase`), and a later boot's ~100 inputs sit
    in a dozen directories. The last component is looked at as `chase` does: a symlink
    there is left to `chase`; anything else (or nothing) is appended. Its lstat is what
    the description starts from (a syscall is ~3 µs here: one, not two, per input).
    None: a symlink, or the lstat failed (the caller's stat says how)."""
    head, _, name = p.rstrip("/").rpartition("/")
    if not host.prefixed or not name or name in (".", ".."):
        real = host.real(p)
        try:
            st = os.lstat(real)
        except OSError:
            return real, None
        return real, None if stat.S_ISLNK(st.st_mode) else st
    parent = dirs.get(head)
    if parent is None:
        parent = dirs[head] = host.real(head or "/").rstrip("/")
    real = parent + "/" + name
    try:
        st = os.lstat(real)
    except OSError:
        return real, None  # missing: `chase` takes the rest as written
    if not stat.S_ISLNK(st.st_mode):
        return real, st
    return host.real(p), None


def store_raw(host: Host) -> str | None:
    """One digest of the datastore's files as they lie on disk: the database, its WAL when
    it holds frames, a rollback journal. The same bytes are the same settings, whatever
    SQLite does; so while they are as a boot left them, what it read from the datastore
    still holds, and no SQLite is needed to know it. None (no shortcut): a file is large
    or unreadable."""
    base = host.real(DATASTORE_PATH)
    parts = []
    for suffix in ("", "-wal", "-journal"):
        try:
            data = read_all(base + suffix, _BIG)
        except FileNotFoundError:
            data = b""
        except OSError:
            return None
        if len(data) > _BIG:
            return None
        parts.append(b"+" + data if data or not suffix else b"-")  # an empty WAL or journal: none
    return digest(b"\0".join(parts))


def _live(real: str) -> bytes:
    return digest(_datastore_digest(real)).encode()


def _one(host: Host, p: str, dirs: dict[str, str], store: Callable[[str], bytes] | None = None) -> bytes:
    listing = p.endswith("/") and p != "/"
    real, st = _located(host, p, dirs)
    followed = st is None
    if st is None:  # a symlink (followed here) or a failed lstat (said here)
        try:
            st = os.stat(real)
        except FileNotFoundError:
            return b"-"
        except OSError as exc:
            return f"error:{exc.errno}".encode()
    kind = st.st_mode
    if stat.S_ISDIR(kind):
        if not listing:  # only resolved (made, checked): its names were not read
            return b"d"
        try:
            return ("d:" + "/".join(sorted(os.listdir(real)))).encode()
        except OSError as exc:
            return f"d-error:{exc.errno}".encode()
    if stat.S_ISBLK(kind) or stat.S_ISCHR(kind):
        size = 0
        if stat.S_ISBLK(kind):
            try:
                fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    size = os.lseek(fd, 0, os.SEEK_END)
                finally:
                    os.close(fd)
            except OSError:
                size = -1
        return f"dev:{st.st_rdev}:{size}".encode()
    if p == DATASTORE_PATH:  # SQLite only where it is an input and its files changed
        return store(real) if store is not None else _live(real)
    if st.st_size > _BIG:
        return f"big:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()
    try:
        data = read_all(real)
    except OSError as exc:
        return f"error:{exc.errno}".encode()
    if p == "/proc/meminfo":  # only the total is an input (crash kernel sizing)
        data = b"".join(line for line in data.splitlines(keepends=True) if line.startswith(b"MemTotal:"))
    # under a root prefix the path is resolved to its last component (never a link)
    link = os.readlink(real).encode() if followed and not host.prefixed and os.path.islink(real) else b""
    return link + b"\0" + data


def digest_paths(host: Host, paths: list[str], memo: dict[str, bytes] | None = None,
                 dirs: dict[str, str] | None = None, store: Callable[[str], bytes] | None = None) -> str:
    """One digest over `paths` (sorted), each described as the module docstring says.
    `memo` keeps each path's description, and `dirs` each resolved directory, while
    nothing can have changed them (stages share inputs: the datastore, /boot,
    /proc/bootconfig are read by several)."""
    parts = []
    dirs = {} if dirs is None else dirs
    for p in paths:
        one = memo.get(p) if memo is not None else None
        if one is None:
            one = _one(host, p, dirs, store)
            if memo is not None:
                memo[p] = one
        parts.append(p.encode() + b"\0" + one)
    return digest(b"\0\0".join(parts))


def tracked(paths: set[str], live: set[str]) -> list[str]:
    """The paths that are inputs: not /run (replayed, empty after a reboot), not volatile
    kernel counters, not the live kernel files the stage itself writes (replayed)."""
    return sorted(p for p in paths if not p.startswith(_VOLATILE) and p not in live and p.rstrip("/") != "/run")


class BootState:
    """The stored stage entries of the last boots, and the ones this boot produces."""

    def __init__(self, host: Host, key: str) -> None:
        self.host = host
        self.key = key
        self.previous: dict[str, dict[str, object]] = {}
        self.entries: dict[str, dict[str, object]] = {}
        self.changed = False
        # path -> description, and directory -> its real location, valid until something
        # acts (a stage runs, a replay writes)
        self.memo: dict[str, bytes] = {}
        self.dirs: dict[str, str] = {}
        # the datastore as the last boot left it: its files' digest (`store_raw`), the
        # digest of its live settings, and the settings subtrees stages asked for
        self.store: dict[str, Any] = {}
        self.store_changed = False
        self._stale = False  # the files were found changed this boot
        self._asked: set[str] = set()  # the settings prefixes stages asked for
        self._described = False  # whether a fingerprint looked at the datastore
        text = _read(host)
        if text is None:
            return
        try:
            data = jsonio.loads(text)
        except ValueError:
            return
        if isinstance(data, dict) and data.get("key") == key and isinstance(data.get("stages"), dict):
            self.previous = data["stages"]
            if isinstance(data.get("datastore"), dict) and isinstance(data["datastore"].get("trees"), dict):
                self.store = data["datastore"]

    # -- the datastore, without SQLite while its files are as they were -------------------
    def _as_left(self) -> bool:
        """Whether the datastore's files are still as the last boot left them; once they
        are not, this boot reads it (SQLite) and `_settle` keeps what it finds at the end."""
        if not self._stale:
            raw = store_raw(self.host)
            self._stale = raw is None or raw != self.store.get("raw")
        return not self._stale

    def _store_description(self, real: str) -> bytes:
        """The fingerprint's description of the datastore (its live settings)."""
        self._described = True
        if isinstance(self.store.get("live"), str) and self._as_left():
            return str(self.store["live"]).encode()
        return _live(real)

    def settings(self, prefixes: tuple[str, ...]) -> dict[str, Any]:
        """The live settings under `prefixes` (`settings.kdump`, …), through SettingsService;
        while the datastore's files are byte for byte those the last boot left, the copy
        kept here (a later boot then opens no SQLite). Each call looks at the files again:
        a stage may write settings between two reads."""
        if self.host.recording:  # a plan's settings are its own (kindling/datastore.py PlanState)
            from kindling.api.service import SettingsService

            return SettingsService(self.host).get_settings(keys=list(prefixes))
        self._asked.update(prefixes)
        trees = self.store.get("trees") or {}
        if all(p in trees for p in prefixes) and self._as_left():
            out: dict[str, Any] = {}
            for p in prefixes:
                _lay(out, jsonio.loads(jsonio.dumps(trees[p])))  # a fresh copy for each reader
            return out
        from kindling.api.service import SettingsService

        return SettingsService(self.host).get_settings(keys=list(prefixes))

    def _settle(self) -> None:
        """Before saving: keep the datastore's state for the next boot when this one looked
        at it. SQLite checkpoints its WAL into the database when the last connection
        closes, so this boot's connections are closed first; then the files' digest, the
        live settings and the subtrees asked for are taken, and kept only if the files did
        not change meanwhile."""
        if not (self._asked or self._described):
            return
        service = sys.modules.get("kindling.api.service")
        if service is not None:
            service.release_thread_stores()
        raw = store_raw(self.host)
        trees = self.store.get("trees") or {}
        prefixes = sorted({*self._asked, *trees})
        if raw is not None and raw == self.store.get("raw") and not self._stale and all(
                p in trees for p in prefixes) and (isinstance(self.store.get("live"), str) or not self._described):
            return  # as it was: nothing to keep anew
        self.store_changed = self.store_changed or bool(self.store)
        self.store = {}
        if raw is None:  # no shortcut (a large or unreadable file): the next boot reads it
            return
        from kindling.api import service as api
        from kindling.datastore import live_tree

        try:  # the subtrees from the rows digested: no second connection (its WAL switch, its close)
            rows = _datastore_digest(self.host.real(DATASTORE_PATH))
            tree = live_tree(jsonio.loads(rows), DATASTORE_PATH) if prefixes and not rows.startswith(
                b"datastore-error:") else {}
        except Exception:  # the next boot reads the datastore itself; the boot's state is saved
            return
        if not rows.startswith(b"datastore-error:") and store_raw(self.host) == raw:
            live = digest(rows)
            self.store = {"raw": raw, "live": live, "trees": {p: api.select(tree, p) for p in prefixes}}
            self.store_changed = True

    def unchanged(self, name: str) -> dict[str, object] | None:
        """The stored entry of stage `name` when its inputs are as it left them."""
        entry = self.previous.get(name)
        if not isinstance(entry, dict):
            return None
        paths = entry.get("paths")
        if not isinstance(paths, list) or digest_paths(self.host, [str(p) for p in paths], self.memo, self.dirs,
                                                       self._store_description) != entry.get("digest"):
            return None
        return entry

    def acting(self) -> None:
        """Something is about to change the machine: the remembered descriptions go."""
        self.memo.clear()
        self.dirs.clear()

    def keep(self, name: str, entry: dict[str, object]) -> None:
        self.entries[name] = entry

    def keep_previous(self, name: str) -> None:
        """A stage its precondition skipped: what it last recorded stays (nothing to save)."""
        entry = self.previous.get(name)
        if isinstance(entry, dict):
            self.entries[name] = entry

    def record(self, name: str, status: str, detail: str, seen: set[str],
               replay: list[tuple[str, str, bytes, int]]) -> None:
        """A stage ran: remember what it read and its per-boot effects (none if it failed)."""
        self.changed = True
        if status == "failed":
            return
        live = {p for kind, p, _d, _m in replay if kind == "live"}
        paths = tracked(seen, live)
        self.entries[name] = {
            "status": status,
            "detail": detail,
            "paths": paths,
            "digest": digest_paths(self.host, paths, self.memo, self.dirs, self._store_description),
            "replay": [[kind, p, data.decode("latin-1"), mode] for kind, p, data, mode in replay],
        }

    def forget(self, name: str) -> None:
        """A stage found failed after it was recorded: the next boot runs it again."""
        self.changed = True
        self.entries.pop(name, None)

    def save(self) -> None:
        """Persist (fsync'd: it is what the next boot trusts) when anything ran."""
        self._settle()
        if not self.changed and not self.store_changed and self.entries == self.previous:
            return
        doc = {"key": self.key, "stages": self.entries, **({"datastore": self.store} if self.store else {})}
        text = jsonio.dumps(doc, separators=(",", ":"))
        self.host.makedirs("/var/lib/kindling", mode=0o755)
        self.host.write_file(STATE_PATH, text + "\n", mode=0o600)


def _lay(out: dict[str, Any], tree: dict[str, Any]) -> None:
    """`tree` merged into `out` in place (the subtrees of different prefixes)."""
    for key, value in tree.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            _lay(out[key], value)
        else:
            out[key] = value


def replay(host: Host, entry: dict[str, object]) -> None:
    """Redo a skipped stage's per-boot effects: its /run files and live kernel values."""
    for item in entry.get("replay") or []:  # type: ignore[attr-defined]
        kind, p, text, mode = item
        data = str(text).encode("latin-1")
        if kind == "live":
            host.write_in_place(str(p), data)
        elif kind == "symlink":
            host.symlink(str(text), str(p))
        else:
            host.makedirs(os.path.dirname(str(p)), mode=0o755)
            host.write_file(str(p), data, mode=int(mode))


def _read(host: Host) -> str | None:
    try:
        with open(host.real(STATE_PATH), encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None
