"""`kindling settings describe KEY`: what the model says of a key, as a user asks for it."""

from __future__ import annotations

import json

import pytest

from kindling.cli import main
from kindling.errors import InputError
from kindling.reference.keys import describe
from kindling.settings.owners import model_keys


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["settings", "describe", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_quoted_map_key_is_described_by_its_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, 'kernel.sysctl."vm.swappiness"')
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == 'settings.kernel.sysctl."vm.swappiness"'
    assert "  type:      string" in out
    assert "  owner:     applied by sysctl" in out
    assert "  sensitive: no" in out
    assert '    "vm.swappiness" = "10"' in out


def test_json_gives_type_rule_default_owners_sensitivity(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "settings.kdump.keep", "aws.credentials", "--json")
    assert code == 0
    keep, creds = json.loads(out)["keys"]
    assert keep == {
        "key": "settings.kdump.keep", "description": "dumps kept under /var/log/kdump", "type": "integer",
        "rule": "an integer from 1 to 1000", "default": "3", "owners": ["service:kdump-load"],
        "effects": ["read by kdump-load at boot"], "sensitive": False,
        "example": "[settings.kdump]\nkeep = 5\n",
    }
    assert creds["sensitive"] is True
    assert creds["effects"][0] == "applied by aws-config"


def test_patterns_prefixes_aliases_and_list_items() -> None:
    assert [d.key for d in describe("kubernetes.node-labels.*")] == ["settings.kubernetes.node-labels.*"]
    assert [d.key for d in describe("ntp")] == ["settings.ntp.time-servers", "settings.ntp.options"]
    # Bottlerocket's alias `boot.kernel` is `boot.kernel-parameters`
    assert [d.key for d in describe("boot.kernel.console")] == ["settings.boot.kernel-parameters.console"]
    # inside a list, the list is the key a commit replaces
    (mirrors,) = describe("container-registry.mirrors.0.registry")
    assert mirrors.key == "settings.container-registry.mirrors"
    assert mirrors.type == "list of tables"
    (creds,) = describe("container-registry.credentials")
    assert creds.sensitive == ["username", "password", "auth", "identitytoken"]
    assert len(describe("settings")) == sum(1 for _ in model_keys())  # the whole model


def test_stored_and_service_owners_are_said_as_the_commit_report_says_them() -> None:
    (signal,) = describe("cloudformation.should-signal")
    assert signal.effects() == ["read by cfsignal at boot"]
    assert signal.default == "false"
    stored = [d for d in describe("updates") if d.owners and d.owners[0].startswith("stored:")]
    assert stored and all(e.startswith("stored for ") for d in stored for e in d.effects())


@pytest.mark.parametrize("key", ["kernel.nope", 'kernel.sysctl."a/b"', "motd.below-a-leaf", "nosuch"])
def test_unknown_key_is_one_line_naming_it_exit_1(capsys: pytest.CaptureFixture[str], key: str) -> None:
    code, out, err = _run(capsys, key)
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("kindling settings: settings.") and err.endswith(": not a key of the settings model\n")
    with pytest.raises(InputError, match="not a key of the settings model"):
        describe(key)


def test_malformed_key_is_refused_naming_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, 'kernel.sysctl."open')
    assert code == 1
    assert err == "kindling settings: settings describe: unterminated quote in key\n"
