"""Concurrent first opens of a fresh datastore (issue 10, faults): at first boot the
apiserver, early-boot-config and apiclient may all create it at once. SQLite refused
the WAL switch of all but one with "database is locked" (about 1 in 70 opens here);
every writer must succeed and every update must land."""

from __future__ import annotations

import threading
from pathlib import Path

from kindling.api.service import SettingsService
from kindling.host import Host
from tests.bad_inputs.corpus import in_thread

WRITERS = 6


def test_fresh_datastore_opened_by_many_at_once(tmp_path: Path) -> None:
    errors: list[str] = []
    for rep in range(25):
        root = tmp_path / f"r{rep}"
        root.mkdir()
        barrier = threading.Barrier(WRITERS)

        def write(n: int, root: Path = root, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                SettingsService(Host(root)).set_tree({"kernel": {"sysctl": {f"w{n}": str(n)}}},
                                                     tx=f"w{n}", source="t")
            except Exception as exc:  # collected and asserted below
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sysctl = in_thread(lambda root=root: SettingsService(Host(root)).get_settings())["kernel"]["sysctl"]
        assert sorted(sysctl) == [f"w{n}" for n in range(WRITERS)]
    assert errors == []
