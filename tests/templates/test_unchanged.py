"""A consumer whose files are already what its templates render is left alone without
the engine (kindling/templates/unchanged.py) — and every change that could alter a
file renders again: a setting, the template, an edited, re-moded or removed output,
a manifest in the old format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kindling.api.service import SettingsService
from kindling.templates.writer import MANIFEST_DIR
from tests.templates.conftest import commit, host_of, outcomes, user_template

GREETER = '''
service = "greeter"
path = "/etc/greeter/greeting.conf"
mode = "0640"
prefixes = ["motd"]
template = """greeting = {{ settings.motd | toml }}
"""
'''
OUT = "etc/greeter/greeting.conf"


def reapply(root: Path) -> str:
    return {o.name: o.detail for o in SettingsService(host_of(root)).apply(None)}["greeter"]


def test_current_files_need_no_engine(root: Path) -> None:
    user_template(root, "greeter", GREETER)
    assert outcomes(commit(root, {"motd": "hi"}))["greeter"] == (True, "wrote /etc/greeter/greeting.conf")
    code = ("import sys; from kindling.api.service import SettingsService; from kindling.host import Host; "
            f"out = {{o.name: o for o in SettingsService(Host({str(root)!r})).apply(None)}}; "
            "print(out['greeter'].ok, out['greeter'].detail, 'jinja2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "unchanged", "False"]


def test_every_change_that_could_alter_a_file_renders_again(root: Path) -> None:
    user_template(root, "greeter", GREETER)
    commit(root, {"motd": "hi"})
    out = root / OUT
    wrote = "wrote /etc/greeter/greeting.conf"
    assert reapply(root) == "unchanged"

    out.write_text("edited by hand\n")
    assert reapply(root) == wrote and out.read_text() == 'greeting = "hi"\n'
    out.chmod(0o644)
    assert reapply(root) == wrote and out.stat().st_mode & 0o777 == 0o640
    out.unlink()
    assert reapply(root) == wrote and out.exists()
    assert reapply(root) == "unchanged"

    assert outcomes(commit(root, {"motd": "hello"}))["greeter"] == (True, wrote)
    assert out.read_text() == 'greeting = "hello"\n'
    user_template(root, "greeter", GREETER.replace("greeting =", "greeting="))
    assert reapply(root) == wrote and out.read_text() == 'greeting= "hello"\n'
    assert reapply(root) == "unchanged"


def test_a_manifest_without_digests_renders_and_removes_stale_files(root: Path) -> None:
    user_template(root, "greeter", GREETER)
    commit(root, {"motd": "hi"})
    stale = root / "etc/greeter/old.conf"
    stale.write_text("old\n")
    manifest = root / MANIFEST_DIR.lstrip("/") / "greeter.files"
    manifest.write_text(json.dumps(["/etc/greeter/greeting.conf", "/etc/greeter/old.conf"]) + "\n")
    assert reapply(root) == "removed /etc/greeter/old.conf"
    assert not stale.exists()
    assert json.loads(manifest.read_text())["files"] == ["/etc/greeter/greeting.conf"]
    assert reapply(root) == "unchanged"


def test_a_template_that_writes_nothing_is_current_once_rendered(root: Path) -> None:
    user_template(root, "greeter", GREETER.replace('template = """greeting', 'template = """{{ skip() }}greeting'))
    assert outcomes(commit(root, {"motd": "hi"}))["greeter"] == (True, "unchanged")
    assert not (root / OUT).exists()
    manifest = json.loads((root / MANIFEST_DIR.lstrip("/") / "greeter.files").read_text())
    assert manifest["files"] == [] and manifest["outputs"] == {}
    assert reapply(root) == "unchanged"
