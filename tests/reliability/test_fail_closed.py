"""Fail closed at every edge, part 1 (issue 16): tracebacks, containment under --root,
datastores from elsewhere, roots that do not exist.

Each test runs the real `kindling` CLI as a child process on a temp root (corpus's
`run_kindling`), plants the hostile thing for real (a file where a directory belongs,
a symlink out of the root, a datastore of another schema) and checks: one line, the
exit status, nothing outside the root touched, no traceback. The bad-input corpus
holds the cases that are one input each (tests/bad_inputs/cases.toml, `fc_*`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from kindling.datastore import DATASTORE_PATH, SCHEMA_VERSION, Datastore
from kindling.errors import HostError
from kindling.host import Host, chase
from tests.bad_inputs.corpus import in_thread, new_root, run_kindling, snapshot

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def _no_traceback(result: object) -> str:
    out = str(getattr(result, "stdout", "")) + str(getattr(result, "stderr", ""))
    assert "Traceback" not in out, out
    return out


# -- class 1: no traceback, ever -------------------------------------------------------
def test_a_stage_that_raises_fails_alone_and_the_timeline_is_written(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    (root / "etc/kindling").mkdir(parents=True, exist_ok=True)
    (root / "etc/kindling/providers.d").write_text("a file where a directory belongs")
    result = run_kindling(["boot", "--platform", "metal"], root, ENV)
    out = _no_traceback(result)
    assert result.returncode == 1
    assert "early-boot-config        failed: " in out and "Not a directory" in out
    timeline = json.loads((root / "run/kindling/timeline.json").read_text())
    names = [s["name"] for s in timeline["stages"]]
    assert {"growpart", "gpu-drivers", "early-boot-config"} <= set(names)
    assert [s["status"] for s in timeline["stages"] if s["name"] == "gpu-drivers"] != ["failed"]


def test_analyze_svg_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    (root / "run/kindling").mkdir(parents=True, exist_ok=True)
    (root / "run/kindling/timeline.json").write_text(json.dumps({"platform": "metal", "stages": []}))
    result = run_kindling(["analyze", "--svg", str(tmp_path / "no/such/dir/boot.svg")], root, ENV)
    _no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("kindling analyze: --svg ")


@pytest.mark.parametrize("raw", ["{not json", "", "[[[[" * 2000 + "]]]]" * 2000])
def test_a_non_json_datastore_row_is_an_error_naming_the_key(tmp_path: Path, raw: str) -> None:
    root, _ = new_root(tmp_path)
    db = root / DATASTORE_PATH.lstrip("/")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT OR REPLACE INTO live (key, value) VALUES ('motd', ?)", (raw,))
    conn.close()
    before = snapshot(root)
    result = run_kindling(["apiclient", "get"], root, ENV)
    _no_traceback(result)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert "row motd" in line or "nested deeper" in line, line
    assert snapshot(root) == before


def test_apiclient_raw_with_a_deep_body_answers_400(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    body = '{"motd": ' + "[" * 3000 + "]" * 3000 + "}"
    result = run_kindling(["apiclient", "raw", "-m", "PATCH", "-u", "/settings?tx=t", "-d", body], root, ENV)
    _no_traceback(result)
    assert result.returncode == 1
    assert "nested deeper than 32 levels" in json.loads(result.stdout)["error"]


def test_a_key_with_a_newline_cannot_forge_a_log_line(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    result = run_kindling(["apiclient", "set", "network.x\n<0>kindling: forged=1"], root, ENV)
    _no_traceback(result)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert not any(line.startswith("<0>") for line in lines)
    assert "\\n<0>kindling: forged" in lines[-1]


# -- class 5: writes never leave the root -----------------------------------------------
def test_an_absolute_symlink_inside_the_root_stays_inside(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/network").symlink_to(outside)  # absolute: <root>/<tmp>/elsewhere under chase
    result = run_kindling(["apiclient", "set", "network.https-proxy=http://proxy.example:3128"], root, ENV)
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert list(outside.iterdir()) == []
    inside = root / str(outside).lstrip("/") / "proxy.env"
    assert "HTTPS_PROXY=http://proxy.example:3128" in inside.read_text()


def test_the_datastore_behind_an_absolute_symlink_stays_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/lib").mkdir(parents=True)
    outside = tmp_path / "outside-state"
    outside.mkdir()
    (root / "var/lib/kindling").symlink_to(outside)
    result = run_kindling(["apiclient", "set", "motd=contained"], root, ENV)
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert list(outside.iterdir()) == []
    assert (root / str(outside).lstrip("/") / "datastore.sqlite3").is_file()


def test_dotdot_links_stop_at_the_root_and_the_final_link_is_replaced(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/motd").unlink(missing_ok=True)
    (root / "etc/motd").symlink_to("../../../../../../../../" + str(victim).lstrip("/"))
    result = run_kindling(["apiclient", "set", "motd=hello"], root, ENV)
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "untouched\n"
    assert (root / "etc/motd").read_text().startswith("hello")
    assert chase(root, "/a/../../../x") == root / "x"


def test_a_planted_temp_name_is_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    for name in (f".motd.kindling-tmp.{os.getpid()}", ".motd.kindling-tmp", ".motd.tmp"):
        (root / "etc" / name).symlink_to(victim)  # every name the old scheme could pick
    host = Host(root)
    assert host.write_file("/etc/motd", "hello\n")
    assert victim.read_text() == "untouched\n"
    assert (root / "etc/motd").read_text() == "hello\n"
    assert not [p for p in (root / "etc").iterdir() if p.name.endswith(".kindling-tmp") and not p.is_symlink()]


def test_a_symlink_loop_is_one_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/a").symlink_to("/etc/b")
    (root / "etc/b").symlink_to("/etc/a")
    with pytest.raises(HostError, match="too many levels of symbolic links"):
        Host(root).path("/etc/a/motd")


# -- class 8: a datastore from elsewhere ----------------------------------------------------
def _datastore(root: Path) -> Path:
    return root / DATASTORE_PATH.lstrip("/")


def test_another_schema_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    with sqlite3.connect(_datastore(root)) as conn:
        conn.execute("PRAGMA user_version = 7")
    conn.close()
    before = snapshot(root)
    for argv in (["apiclient", "get"], ["apiclient", "set", "motd=x"]):
        result = run_kindling(argv, root, ENV)
        _no_traceback(result)
        assert result.returncode == 1
        assert f"datastore schema version 7, this Kindling reads version {SCHEMA_VERSION}" in result.stderr
    assert snapshot(root) == before


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    db = _datastore(root)
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    result = run_kindling(["apiclient", "get"], root, ENV)
    _no_traceback(result)
    assert result.returncode == 1 and "not a Kindling datastore" in result.stderr


def test_a_datastore_from_before_versioning_is_stamped(tmp_path: Path) -> None:
    root, _ = new_root(tmp_path)
    with sqlite3.connect(_datastore(root)) as conn:
        conn.execute("PRAGMA user_version = 0")
    conn.close()
    assert run_kindling(["apiclient", "set", "motd=migrated"], root, ENV).returncode == 0
    with sqlite3.connect(_datastore(root)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_failed_set_leaves_no_pending_transaction(tmp_path: Path) -> None:
    root, host = new_root(tmp_path)
    lockdown = root / "sys/kernel/security/lockdown"
    lockdown.parent.mkdir(parents=True)
    lockdown.write_text("none [integrity] confidentiality\n")
    assert run_kindling(["apiclient", "set", "kernel.lockdown=confidentiality"], root, ENV).returncode == 0
    lockdown.write_text("none integrity [confidentiality]\n")
    result = run_kindling(["apiclient", "set", "kernel.lockdown=integrity"], root, ENV)  # refused at commit
    _no_traceback(result)
    assert result.returncode == 1 and "needs a reboot" in result.stderr
    assert in_thread(lambda: Datastore(host).transactions()) == []


# -- class 9: input that cannot exist -----------------------------------------------------
@pytest.mark.parametrize("argv", [["apiclient", "get"], ["apiclient", "set", "motd=x"], ["boot", "--plan"],
                                  ["analyze"]])
def test_a_root_that_does_not_exist_is_a_usage_error_and_is_not_created(tmp_path: Path, argv: list[str]) -> None:
    missing = tmp_path / "no-such-root"
    result = run_kindling([*argv, "--root", str(missing)], tmp_path, ENV)
    _no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith(f"--root {missing}: no such directory")
    assert not missing.exists()
    via_env = run_kindling(argv, missing, ENV)  # KINDLING_ROOT
    assert via_env.returncode == 2 and "KINDLING_ROOT" in via_env.stderr
    assert not missing.exists()
