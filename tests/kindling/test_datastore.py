"""The datastore: WAL, pending transactions, atomic commits, concurrent writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kindling.api.service import SettingsService
from kindling.datastore import DATASTORE_PATH, Datastore
from kindling.errors import InputError, NotFoundError, SettingsError
from kindling.host import Host, RecordingHost
from kindling.settings import validate_settings


def test_files_and_modes(host: Host, root: Path) -> None:
    Datastore(host).close()
    db = root / DATASTORE_PATH.lstrip("/")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_patch_merges_per_leaf_and_commit_reports_changes(host: Host) -> None:
    with Datastore(host) as ds:
        ds.patch("t", {"kernel": {"sysctl": {"a": "1", "b": "2"}}, "dns": {"name-servers": ["1.1.1.1"]}})
        ds.patch("t", {"kernel": {"sysctl": {"b": "3"}}, "dns": {"name-servers": ["9.9.9.9", "8.8.8.8"]}})
        assert ds.pending("t") == {"kernel": {"sysctl": {"a": "1", "b": "3"}},
                                   "dns": {"name-servers": ["9.9.9.9", "8.8.8.8"]}}
        assert ds.live() == {}
        changed = ds.commit("t", validate_settings)
        assert changed == ["dns.name-servers", "kernel.sysctl.a", "kernel.sysctl.b"]
        assert ds.transactions() == []
        ds.patch("u", {"dns": {"name-servers": ["1.1.1.1"]}, "kernel": {"sysctl": {"a": "1"}}})
        assert ds.commit("u", validate_settings) == ["dns.name-servers"]
        assert ds.live()["dns"] == {"name-servers": ["1.1.1.1"]}
        assert ds.last_commit_keys() == ["dns.name-servers"]


def test_live_tree_kept_between_reads_follows_every_writer(host: Host) -> None:
    """`Datastore.live` reads the rows again only when the file changed: another
    connection's commit (SQLite's data_version) and this one's own writes are both seen,
    and every caller gets a tree of its own."""
    with Datastore(host) as a, Datastore(host) as b:
        a.patch("t", {"motd": "one"})
        a.commit("t", validate_settings)
        first = a.live()
        assert first == {"motd": "one"}
        first["motd"] = "changed by a caller"
        assert a.live() == {"motd": "one"}  # a copy each time
        b.patch("t", {"motd": "two", "kernel": {"sysctl": {"a": "1"}}})
        b.commit("t", validate_settings)  # another connection: data_version moves
        assert a.live() == {"motd": "two", "kernel": {"sysctl": {"a": "1"}}}
        nested = a.live()
        nested["kernel"]["sysctl"]["a"] = "9"
        assert a.live()["kernel"]["sysctl"] == {"a": "1"}
        a.patch("t", {"motd": "three"})
        a.commit("t", validate_settings)  # its own commit: forgets what it kept
        assert a.live()["motd"] == "three" and b.live()["motd"] == "three"
        with pytest.raises(SettingsError):  # a failed write changes nothing, read again all the same
            a.patch_and_commit("t", {"motd": "four"}, lambda tree: validate_settings({"motd": 5}))
        assert a.live()["motd"] == "three"


def test_quoted_keys_survive_storage(host: Host) -> None:
    svc = SettingsService(host)
    svc.set_tree({"kernel": {"sysctl": {"net.ipv4.ip_forward": "1"}}}, tx="t", source="test")
    assert svc.get_settings() == {"kernel": {"sysctl": {"net.ipv4.ip_forward": "1"}}}
    assert svc.get_settings(keys=['settings.kernel.sysctl."net.ipv4.ip_forward"']) == {
        "kernel": {"sysctl": {"net.ipv4.ip_forward": "1"}}}


def test_unknown_tx_and_bad_names(host: Host) -> None:
    with Datastore(host) as ds:
        with pytest.raises(NotFoundError):
            ds.pending("nope")
        with pytest.raises(NotFoundError):
            ds.commit("nope", validate_settings)
        with pytest.raises(NotFoundError):
            ds.delete_tx("nope")
        with pytest.raises(InputError):
            ds.patch("bad name!", {"motd": "x"})


def test_bad_input_leaves_the_file_unchanged(host: Host, root: Path) -> None:
    svc = SettingsService(host)
    svc.set_tree({"motd": "before"}, tx="t", source="test")
    db = root / DATASTORE_PATH.lstrip("/")
    snapshot = {p.name: p.read_bytes() for p in db.parent.iterdir() if not p.name.endswith("-shm")}
    for tree in ({"motd": 1}, {"nope": True}, {"network": {"hostname": "-x"}}):
        with pytest.raises(SettingsError):
            svc.set_tree(tree, tx="t2", source="test")
    assert {p.name: p.read_bytes() for p in db.parent.iterdir() if not p.name.endswith("-shm")} == snapshot
    assert svc.transactions() == []


def test_recording_host_plans_without_writing(host: Host, root: Path) -> None:
    SettingsService(host).set_tree({"motd": "live"}, tx="t", source="test")
    db = root / DATASTORE_PATH.lstrip("/")
    before = db.read_bytes()
    plan = RecordingHost(root)
    with Datastore(plan) as ds:
        ds.patch("p", {"motd": "planned", "kdump": {"keep": 2}})
        assert ds.commit("p", validate_settings) == ["kdump.keep", "motd"]
    assert db.read_bytes() == before
    assert SettingsService(host).get_settings() == {"motd": "live"}
    assert any("datastore: commit p" in a for a in plan.actions)


def test_concurrent_writers_do_not_lose_updates(root: Path) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            svc = SettingsService(Host(root))
            for i in range(10):
                svc.set_tree({"kernel": {"sysctl": {f"w{n}.k{i}": str(i)}}}, tx=f"w{n}", source="t")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    sysctl = SettingsService(Host(root)).get_settings()["kernel"]["sysctl"]
    assert len(sysctl) == 40


CHILD = r"""
import sys
from kindling.datastore import Datastore
from kindling.host import Host
from kindling.settings import validate_settings
root = sys.argv[1]
gen = 0
with Datastore(Host(root)) as ds:
    while True:
        gen += 1
        ds.patch("big", {"kernel": {"sysctl": {f"k{i}": str(gen) for i in range(1500)}}})
        ds.commit("big", validate_settings)
        print(gen, flush=True)
"""


def test_sigkill_mid_commit_leaves_live_consistent(root: Path) -> None:
    """A real child commits 3000-key generations; SIGKILL at many instants never
    leaves a mix of generations, and the next writer recovers."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    for kills, attempt in enumerate(range(8), start=1):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE,
                                env=env)
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one commit done
        time.sleep(0.013 * (attempt % 7))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with Datastore(Host(root)) as ds:
            values = set(ds.live()["kernel"]["sysctl"].values())
            assert len(values) == 1, f"torn commit after kill {kills}: {len(values)} generations"
    svc = SettingsService(Host(root))
    svc.set_tree({"motd": "recovered"}, tx="after", source="test")
    assert svc.get_settings()["motd"] == "recovered"


def test_corrupt_file_is_a_clear_error(host: Host, root: Path) -> None:
    from kindling.errors import HostError

    db = root / DATASTORE_PATH.lstrip("/")
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HostError, match="not a usable datastore"):
        SettingsService(host).get_settings()
    with pytest.raises(HostError, match="not a usable datastore"):
        Datastore(RecordingHost(root))


@pytest.fixture
def write_transactions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQLite write transactions begun from here on, on any new connection."""
    begun: list[str] = []
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, **kwargs)
        conn.set_trace_callback(lambda sql: begun.append(sql.rstrip(";")) if sql.startswith("BEGIN") else None)
        return conn

    from kindling.api.service import release_thread_stores

    release_thread_stores()  # a connection cached by an earlier test would not be traced
    monkeypatch.setattr(sqlite3, "connect", connect)
    return begun


def test_set_tree_is_one_write_transaction_its_readers_see(host: Host, root: Path,
                                                          write_transactions: list[str]) -> None:
    Datastore(host).close()
    assert write_transactions == ["BEGIN IMMEDIATE"]  # a new file's tables and version: one transaction
    write_transactions.clear()
    svc = SettingsService(host)
    report = svc.set_tree({"motd": "hi", "kernel": {"sysctl": {"a": "1"}}}, tx="t", source="test")
    assert write_transactions == ["BEGIN IMMEDIATE"]  # PATCH and commit together: one WAL sync, not two
    assert report.changed == ["settings.kernel.sysctl.a", "settings.motd"]
    assert svc.get_settings()["motd"] == "hi"  # this process's cached connection
    other = sqlite3.connect(root / DATASTORE_PATH.lstrip("/"))  # and any other reader
    assert dict(other.execute("SELECT key, value FROM live")) == {"kernel.sysctl.a": '"1"', "motd": '"hi"'}
    assert other.execute("SELECT count(*) FROM pending").fetchone()[0] == 0
    other.close()
    assert [a for a in host.actions if a.startswith("datastore")] == [
        "datastore: patch t (2 keys)", "datastore: commit t"]


def test_patch_and_commit_that_fails_or_dies_leaves_nothing(host: Host) -> None:
    with Datastore(host) as ds:
        ds.patch("t", {"motd": "earlier"})

        def refuse(tree: dict[str, object]) -> dict[str, object]:
            raise SettingsError("settings.motd", "refused")

        def die(tree: dict[str, object]) -> dict[str, object]:
            raise SystemExit("killed between PATCH and commit")

        with pytest.raises(SettingsError):
            ds.patch_and_commit("t", {"ntp": {"time-servers": ["a"]}}, refuse)
        with pytest.raises(SystemExit):
            ds.patch_and_commit("t", {"ntp": {"time-servers": ["a"]}}, die)
        assert ds.pending("t") == {"motd": "earlier"}  # not even the PATCH stayed
        assert ds.live() == {}
        assert ds.patch_and_commit("t", {"ntp": {"time-servers": ["a"]}}, validate_settings) == [
            "motd", "ntp.time-servers"]
        assert ds.transactions() == []


def test_plan_of_patch_and_commit_records_both(plan_host: RecordingHost, host: Host) -> None:
    Datastore(host).close()
    with Datastore(plan_host) as ds:
        assert ds.patch_and_commit("p", {"motd": "x"}, validate_settings) == ["motd"]
    assert plan_host.actions == ["datastore: patch p (1 keys)", "datastore: commit p (1 keys change)"]
    with Datastore(host) as real:
        assert real.live() == {} and real.transactions() == []
