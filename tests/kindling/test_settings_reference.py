"""Every TOML example of Bottlerocket's settings reference, committed for real (issue 14).

The reference (`shared/reference/bottlerocket-settings-reference.md`, read in place
beside the checkout) is crawled page text, without code fences: examples are found as
runs of TOML lines (table headers, `key = value`, comments, array continuations), one
example per paragraph. A bare `key = value` example is placed under the table of the
setting its paragraph documents. Each example is committed through the settings
service on a temp root; the few that carry placeholders (`data="W3N..."`) must be
refused naming the key and the rule, as listed below with the reason.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from kindling.api.service import SettingsService
from kindling.errors import SettingsError
from kindling.host import Host
from tests.conftest import REPO

REFERENCE = "bottlerocket-settings-reference.md"

# (first table header of the example, key refused, rule): placeholders, not user data
EXPECTED_REFUSALS = [
    ("settings.container-registry.mirrors", "settings.container-registry.mirrors.0.endpoint.0",
     "not a valid URL"),  # endpoint = ["https://<example-mirror>", …]
    ("settings.container-registry.mirrors", "settings.container-registry.mirrors.0.endpoint.0",
     "not a valid URL"),  # endpoint = [ "https://<my-docker-hub-mirror-host>", …]
    ("settings.container-registry.credentials", "settings.container-registry.credentials.0.auth",
     "not valid base64"),  # auth = "example_base64_encoded_auth_string"
    ("settings.pki.my-trusted-bundle", "settings.pki.my-trusted-bundle.data", "not valid base64"),  # "W3N..."
    ("settings.pki.dont-trust-these", "settings.pki.dont-trust-these.data", "not valid base64"),  # "W3N..."
]
# the number of examples the extractor finds: a change in the reference or a lost
# example shows here, not as a silently shorter list
EXPECTED_EXAMPLES = 40


def reference_path() -> Path | None:
    env = os.environ.get("KINDLING_CONFORMANCE_DIR")
    candidates = [Path(env).parent / "reference"] if env else []
    candidates += [REPO.parent / "shared" / "reference", REPO.parent.parent / "shared" / "reference"]
    for candidate in candidates:
        if (candidate / REFERENCE).is_file():
            return candidate / REFERENCE
    return None


_HEADER = re.compile(r"\[\[?settings[A-Za-z0-9_.\"-]*\]\]?$")
_KEYVAL = re.compile(r'(?:"[^"]+"|[A-Za-z0-9_-]+)\s*=\s*\S')
_BULLET = re.compile(r"•\s*(settings\.[A-Za-z0-9.<>_ -]+?):")


def _depth(line: str) -> int:
    """Open brackets left by a line, outside strings and comments."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line).split("#", 1)[0]
    return text.count("[") - text.count("]")


def extract_examples(text: str) -> list[tuple[int, str]]:
    """(line number, TOML text) of each example, in order."""
    lines = text.splitlines()
    examples: list[tuple[int, str]] = []
    bullet = ""
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        found = _BULLET.search(lines[i])
        if found:
            bullet = found.group(1)
        starts_table = bool(_HEADER.match(stripped))
        bare = (not starts_table and _KEYVAL.match(stripped) is not None and i > 0
                and "Example user data" in lines[i - 1] + (lines[i - 2] if i > 1 else ""))
        if not (starts_table or bare):
            i += 1
            continue
        start, depth, body = i, 0, []
        while i < len(lines):
            line = lines[i].strip()
            if depth == 0 and i > start and not (line.startswith(("#", "[", '"')) or _KEYVAL.match(line)):
                break
            body.append(line)
            depth += _depth(line)
            i += 1
        toml = "\n".join(body)
        if bare:
            table = bullet.rsplit(".", 1)[0]
            toml = f"[{table}]\n{toml}"
        examples.append((start + 1, toml))
    return examples


def _header(toml: str) -> str:
    return toml.splitlines()[0].strip("[]")


def _examples() -> list[tuple[int, str]]:
    path = reference_path()
    return extract_examples(path.read_text()) if path else []


@pytest.fixture(scope="module")
def examples() -> list[tuple[int, str]]:
    found = _examples()
    if not found:
        pytest.skip(f"{REFERENCE} not found: set KINDLING_CONFORMANCE_DIR or place shared/reference beside "
                    "the checkout")
    return found


def test_extractor_finds_every_example(examples: list[tuple[int, str]]) -> None:
    assert len(examples) == EXPECTED_EXAMPLES, [e[1].splitlines()[0] for e in examples]
    for line, toml in examples:
        tomllib.loads(toml)  # each one is whole TOML, or the extractor lost a line
        assert list(tomllib.loads(toml)) == ["settings"], f"line {line}"


def _commit(root: Path, toml: str) -> Any:
    doc = tomllib.loads(toml)
    return SettingsService(Host(root)).set_tree(doc["settings"], tx="reference", source="reference example")


def test_every_example_commits_or_is_refused_as_listed(examples: list[tuple[int, str]], tmp_path: Path) -> None:
    committed, refused = 0, []
    for index, (line, toml) in enumerate(examples):
        root = tmp_path / str(index)
        try:
            report = _commit(root, toml)
        except SettingsError as exc:
            refused.append((_header(toml), exc.key, exc.rule))
            # state unchanged: nothing committed, no transaction left
            assert SettingsService(Host(root)).get_settings() == {}, f"line {line}"
            assert SettingsService(Host(root)).transactions() == [], f"line {line}"
            continue
        committed += 1
        assert report.changed, f"line {line}: committed nothing"
        live = SettingsService(Host(root)).get_settings()
        assert live, f"line {line}"
    assert refused == EXPECTED_REFUSALS, refused
    assert committed == EXPECTED_EXAMPLES - len(EXPECTED_REFUSALS)


def test_a_refused_placeholder_commits_once_filled_in(tmp_path: Path) -> None:
    """The refusals are the placeholders' fault: the same example with real values commits."""
    import base64
    import subprocess

    cert = tmp_path / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k"),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=kindling-test-ca"],
                   check=True, capture_output=True)
    data = base64.b64encode(cert.read_bytes()).decode()
    toml = f'[settings.pki.my-trusted-bundle]\ndata="{data}"\ntrusted=true\n'
    assert _commit(tmp_path / "root", toml).changed == [
        "settings.pki.my-trusted-bundle.data", "settings.pki.my-trusted-bundle.trusted"]
    mirrors = ('[[settings.container-registry.mirrors]]\nregistry = "*"\n'
               'endpoint = ["https://mirror.example","https://mirror-2.example"]\n')
    assert _commit(tmp_path / "root2", mirrors).changed == ["settings.container-registry.mirrors"]
