"""The generated reference: docs/settings.md, the man pages and the bash completion are
current, render, and work; every example in them is user data the model accepts."""

from __future__ import annotations

import shutil
import subprocess
import tomllib

import pytest

from kindling.cli import COMMANDS
from kindling.reference.generate import MAN_DIR, generated_files, stale_files
from kindling.reference.keys import all_keys
from kindling.settings.owners import model_keys
from kindling.settings.schema import validate_settings
from tests.conftest import REPO


def test_committed_reference_files_are_current() -> None:
    stale = stale_files(REPO)
    assert stale == [], f"stale generated files (run 'make docs'): {stale}"


def test_settings_md_has_every_key_of_the_model_with_type_default_owner() -> None:
    text = (REPO / "docs/settings.md").read_text(encoding="utf-8")
    keys = [k.dotted for k in model_keys()]
    assert len(keys) > 150
    for key in keys:
        assert f"### `{key}`" in text, key
    assert text.count("\n- owner: ") == len(keys)
    assert text.count("\n- default: ") == len(keys)
    block = text.split("### `settings.kdump.keep`", 1)[1].split("###", 1)[0]
    assert "- type: integer" in block
    assert "- rule: an integer from 1 to 1000" in block
    assert "- default: 3" in block
    assert "- owner: read by kdump-load at boot" in block
    assert "- sensitive: yes" in text.split("### `settings.aws.credentials`", 1)[1].split("###", 1)[0]


def _flatten(tree: dict[str, object], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out += _flatten(value, (*prefix, key))  # type: ignore[arg-type]
        else:
            out.append((*prefix, key))
    return out


def test_every_example_is_user_data_the_model_accepts_for_that_key() -> None:
    docs = all_keys()
    missing = [d.key for d in docs if not d.example]
    assert missing == ["settings.pki.*.data"]  # a certificate bundle: no example is honest
    for doc in docs:
        if not doc.example:
            continue
        parsed = tomllib.loads(doc.example)
        validate_settings(parsed["settings"], source=doc.key)  # raises naming the key
        pattern = doc.key.split(".")[1:]
        for path in _flatten(parsed["settings"]):
            # the example sets this key (a table entry of a JSON-typed key counts as it)
            assert len(path) >= len(pattern) - (1 if doc.key.endswith("*") else 0), (doc.key, path)


def test_man_pages_render_without_warnings() -> None:
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed (ci/apt-packages.txt: groff-base)")
    pages = sorted((REPO / MAN_DIR).glob("*.8"))
    assert {p.name for p in pages} == {"kindling.8", *(f"kindling-{n}.8" for n in COMMANDS)}
    for page in pages:
        run = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
                             capture_output=True, text=True, check=False)
        assert run.returncode == 0 and run.stderr == "", (page.name, run.stderr)
    shown = subprocess.run(["groff", "-man", "-Tutf8", "-P", "-c", str(REPO / MAN_DIR / "kindling-netdog.8")],
                           capture_output=True, text=True, check=True).stdout
    assert "kindling netdog apply" in shown and "--timeout" in shown.replace("\u2010", "-")
    assert "seconds to wait for a required DHCP lease" in shown.replace("\n       ", " ")


def test_man_page_per_subcommand_option_and_see_also() -> None:
    files = generated_files()
    main = files[f"{MAN_DIR}/kindling.8"]
    for name in COMMANDS:
        assert f".BR kindling\\-{name.replace('-', chr(92) + '-')} (8)" in main
    kdump = files[f"{MAN_DIR}/kindling-kdump.8"]
    for sub in ("plan", "load", "capture", "status"):
        assert f'.SS "kdump {sub}"' in kdump
    assert "\\fB\\-\\-disable\\-kexec\\-load\\fR" in kdump


def _complete(*words: str) -> list[str]:
    script = REPO / "docs/completion/kindling.bash"
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    run = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c",
         f'source "{script}"; COMP_WORDS=({quoted}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); '
         '_kindling; printf "%s\\n" "${COMPREPLY[@]}"'],
        capture_output=True, text=True, check=True, cwd=REPO,
    )
    assert run.stderr == ""
    return [line for line in run.stdout.splitlines() if line]


def test_bash_completion_commands_subcommands_options_and_values() -> None:
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    assert _complete("kindling", "ne") == ["netdog"]
    assert set(_complete("kindling", "")) == set(COMMANDS)
    assert "write-resolv-conf" in _complete("kindling", "netdog", "")
    options = _complete("kindling", "netdog", "apply", "--")
    assert {"--timeout", "--plan", "--root", "--json", "--help"} <= set(options)
    assert _complete("kindling", "boot", "--platform", "") == ["auto", "aws", "vmware", "metal"]
    # an option's value is skipped when finding the subcommand
    assert _complete("kindling", "apiclient", "--socket-path", "/tmp/x", "g") == ["get"]
    assert _complete("kindling", "gpu", "load-modules", "--n") == ["--neuron"]
    assert _complete("kindling", "settings", "describe", "kern") == ["kernel."]
    assert "docs/settings.md" in _complete("kindling", "apiclient", "apply", "docs/set")


def test_bash_completion_passes_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (ci/apt-packages.txt)")
    run = subprocess.run(["shellcheck", "-s", "bash", str(REPO / "docs/completion/kindling.bash")],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout
