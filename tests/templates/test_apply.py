"""Declarations through the applier registry: user templates, affected services, failures
that leave the previous file, restarts through the Host runner."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kindling.api.service import SettingsService
from kindling.appliers import affected, load_appliers
from kindling.templates.declaration import parse_declaration
from kindling.templates.errors import TemplateError
from tests.templates.conftest import commit, host_of, outcomes, user_template

MOTD_TEMPLATE = '''
service = "greeter"
path = "/etc/greeter/greeting.conf"
mode = "0640"
prefixes = ["motd"]
template = """greeting = {{ settings.motd | toml }}
"""
restart-commands = [["systemctl", "try-restart", "greeter.service"]]
'''


def test_a_user_template_is_an_applier_and_renders_on_commit(root: Path) -> None:
    user_template(root, "greeter", MOTD_TEMPLATE)
    names = [a.name for a in load_appliers(host_of(root))]
    assert "greeter" in names and "kubelet" in names and "containerd" in names and "ecs" in names
    assert "greeter" not in [a.name for a in load_appliers()]  # no host: shipped only
    assert [a.name for a in affected(load_appliers(host_of(root)), ["settings.motd"])] == ["greeter", "motd"]
    report = commit(root, {"motd": 'hi "there"'})
    assert outcomes(report)["greeter"] == (True, "wrote /etc/greeter/greeting.conf")
    out = root / "etc/greeter/greeting.conf"
    assert out.read_text() == 'greeting = "hi \\"there\\""\n'
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    # a boot re-applies everything: the same file is left alone
    again = {o.name: o for o in SettingsService(host_of(root)).apply(None)}
    assert again["greeter"].ok and again["greeter"].detail == "unchanged"


def test_restart_commands_run_through_the_host_runner_where_systemd_runs(root: Path, tmp_path: Path) -> None:
    user_template(root, "greeter", MOTD_TEMPLATE)
    commit(root, {"motd": "one"})  # no /run/systemd/system under the root: nothing restarted
    (root / "run/systemd/system").mkdir(parents=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "systemctl.log"
    (bindir / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bindir / "systemctl").chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin"}
    report = commit(root, {"motd": "two"}, env)
    ran = "wrote /etc/greeter/greeting.conf; ran systemctl try-restart greeter.service"
    assert outcomes(report)["greeter"] == (True, ran)
    assert log.read_text() == "try-restart greeter.service\n"
    commit(root, {"motd": "two"}, env)  # unchanged: no restart
    assert log.read_text() == "try-restart greeter.service\n"


BAD_TEMPLATES = {
    "reads outside its prefixes": ('prefixes = ["motd"]\ntemplate = "{{ settings.aws.region }}"',
                                   "reads settings.aws, outside the prefixes"),
    "escapes the sandbox": ('prefixes = ["motd"]\ntemplate = "{{ \'\'.__class__.__mro__[1].__subclasses__() }}"',
                            "refused by the sandbox"),
    "loops forever": ('prefixes = ["motd"]\ntimeout = 0.2\ntemplate = """{% for i in range(100000) %}'
                      '{% for j in range(100000) %}{% endfor %}{% endfor %}"""', "render took longer than 0.2 s"),
    "unset setting": ('prefixes = ["motd", "ntp"]\n'
                      'template = "{{ settings.motd }}\\n{{ settings.ntp[\'time-servers\'] }}"',
                      "line 2, setting settings.ntp: settings.ntp is not set"),
}


@pytest.mark.parametrize("case", sorted(BAD_TEMPLATES))
def test_a_failing_template_leaves_the_previous_file_and_names_itself(root: Path, case: str) -> None:
    user_template(root, "greeter", MOTD_TEMPLATE)
    commit(root, {"motd": "first"})
    out = root / "etc/greeter/greeting.conf"
    before = out.read_text()
    body, message = BAD_TEMPLATES[case]
    user_template(root, "greeter", f'service = "greeter"\npath = "/etc/greeter/greeting.conf"\n{body}\n')
    report = commit(root, {"motd": "second"})
    ok, detail = outcomes(report)["greeter"]
    assert not ok and detail.startswith("template greeter") and message in detail, detail
    assert "second" not in detail
    assert out.read_text() == before
    assert report.changed == ["settings.motd"]  # the settings themselves were fine


@pytest.mark.parametrize(("path", "message"), [
    ("/usr/lib/evil.conf", "under /etc, /var/lib or /run only"),
    ("/etc/../usr/evil", "normalised"),
    ("/etc", "under /etc, /var/lib or /run only"),
    ("/var/lib/kindling/datastore.sqlite3", "Kindling's own directories"),
    ("/home/user/x", "under /etc, /var/lib or /run only"),
])
def test_writes_outside_allowed_directories_are_refused(root: Path, path: str, message: str) -> None:
    user_template(root, "greeter", f'path = "{path}"\nprefixes = ["motd"]\ntemplate = "x"\n')
    report = commit(root, {"motd": "m"})
    ok, detail = outcomes(report)["greeter"]
    assert not ok and message in detail, detail
    target = root / path.lstrip("/")
    assert not target.is_file() or target.read_bytes() != b"x"


def test_a_symlinked_directory_cannot_carry_a_write_out(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "etc").mkdir()
    os.symlink(outside, root / "etc/greeter")
    user_template(root, "greeter", MOTD_TEMPLATE)
    ok, detail = outcomes(commit(root, {"motd": "m"}))["greeter"]
    assert not ok and "through a symbolic link" in detail
    assert list(outside.iterdir()) == []


def test_a_broken_user_declaration_fails_its_applier_at_boot(root: Path) -> None:
    user_template(root, "broken", 'path = "/etc/x"\nprefixes = ["no-such-namespace"]\ntemplate = "x"\n')
    report = SettingsService(host_of(root)).apply(None)
    result = {o.name: (o.ok, o.detail) for o in report}
    assert result["broken"][0] is False and "not a key of the settings model" in result["broken"][1]
    assert result["motd"][0] is True  # the others still ran


@pytest.mark.parametrize(("text", "message"), [
    ('path = "/etc/x"\ntemplate = "x"', "prefixes: list the settings"),
    ('path = "etc/x"\nprefixes = ["motd"]\ntemplate = "x"', "absolute path"),
    ('path = "/etc/x"\nprefixes = ["motd"]', "template or template-file"),
    ('path = "/etc/x"\nprefixes = ["motd"]\ntemplate = "x"\nrestart-commands = ["systemctl restart x"]', "argv lists"),
    ('path = "/etc/x"\nprefixes = ["motd"]\ntemplate = "x"\nmode = "4755"', "no setuid"),
    ('path = "/etc/x"\nprefixes = ["motd"]\ntemplate = "x"\nshell = "yes"', "unknown key 'shell'"),
    ('path = "/etc/x"\nprefixes = ["settings.motd"]\ntemplate = "x"', "without 'settings.'"),
    ('path = "/etc/x"\nprefixes = ["motd"]\ntemplate = "x"\ntimeout = 600', "timeout"),
    ('path = [', "not valid TOML"),
])
def test_declaration_errors_name_the_template_and_field(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        parse_declaration("mine", text, origin="test")
    assert str(err.value).startswith("template mine:") and message in str(err.value)


def test_each_writes_one_file_per_entry_and_removes_stale_ones(root: Path) -> None:
    user_template(root, "ntp-copies", '''
path = "/etc/ntp-copies/server-{{ name }}"
each = "ntp.time-servers"
prefixes = ["ntp.time-servers"]
template = "{{ item }}\\n"
''')
    commit(root, {"ntp": {"time-servers": ["a.example", "b.example"]}})
    d = root / "etc/ntp-copies"
    assert {p.name: p.read_text() for p in d.iterdir()} == {"server-0": "a.example\n", "server-1": "b.example\n"}
    report = commit(root, {"ntp": {"time-servers": ["c.example"]}})
    done = "wrote /etc/ntp-copies/server-0; removed /etc/ntp-copies/server-1"
    assert outcomes(report)["ntp-copies"] == (True, done)
    assert {p.name for p in d.iterdir()} == {"server-0"}


def test_plan_writes_nothing(root: Path) -> None:
    from kindling.host import RecordingHost

    user_template(root, "greeter", MOTD_TEMPLATE)
    plan = RecordingHost(root, env={})
    SettingsService(plan).set_tree({"motd": "planned"}, tx="p", source="test")
    assert not (root / "etc/greeter").exists()
    assert any("write /etc/greeter/greeting.conf" in a for a in plan.actions)


def test_a_node_without_consumer_settings_never_imports_jinja2(root: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from kindling.api.service import SettingsService; from kindling.host import Host; "
            f"out = SettingsService(Host({str(root)!r})).apply(None); "
            "assert all(o.ok for o in out), out; print('jinja2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    helped = subprocess.run([sys.executable, "-X", "importtime", "-m", "kindling.cli", "--help"],
                            capture_output=True, text=True, check=False)
    assert "jinja2" not in helped.stderr
