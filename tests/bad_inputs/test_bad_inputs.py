"""Every bad input of the corpus fails loudly and safely (issue 10, item 1).

For each case: a fresh root with a seeded datastore, the input planted where its
kind reads it, the real `kindling …` command run as a child process (or, for API
cases, a raw request to a live `kindling apiserver`). It must exit 1 (the API: the
case's 4xx), name what the case expects, and leave every file under the root,
datastore included, byte-for-byte as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bad_inputs.corpus import (
    Case,
    api_request,
    input_bytes,
    live_settings,
    load_cases,
    new_root,
    plant,
    run_kindling,
    snapshot,
)
from tests.kindling.apiserver_rig import live_apiserver

CASES = load_cases()
CLI_CASES = [c for c in CASES if c.kind != "api"]
API_CASES = [c for c in CASES if c.kind == "api"]


def test_corpus_is_large_and_ids_unique() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    kinds = {c.kind for c in CASES}
    assert {"userdata", "nettoml", "bootconfig", "ovf", "guestinfo", "driver", "api", "aws"} <= kinds


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_cli_refuses_and_changes_nothing(case: Case, tmp_path: Path) -> None:
    root, host = new_root(tmp_path)
    argv, env = plant(case, root, tmp_path)
    settings_before = live_settings(host)
    before = snapshot(root)
    result = run_kindling(argv, root, env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    error_line = result.stderr.strip().splitlines()[-1]
    for text in case.expect:
        assert text in error_line, f"{text!r} not in {error_line!r}"
    assert "Traceback" not in output
    assert snapshot(root) == before
    assert live_settings(host) == settings_before


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One live apiserver for the API cases: each case is a request, its effect checked."""
    root, host = new_root(tmp_path_factory.mktemp("api"))
    with live_apiserver(root) as sock:
        yield root, host, sock


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_api_refuses_and_changes_nothing(case: Case, api_server) -> None:  # type: ignore[no-untyped-def]
    root, host, sock = api_server
    body = input_bytes(case) if (case.input or case.gen) else b""
    settings_before = live_settings(host)
    before = snapshot(root)
    status, answer = api_request(sock, case.method, case.target, body)
    assert status == case.status, answer
    message = str(answer.get("error", "")) + " " + str(answer.get("key", ""))
    for text in case.expect:
        assert text.lower() in message.lower(), f"{text!r} not in {message!r}"
    assert snapshot(root) == before
    assert live_settings(host) == settings_before
    # no transaction was left pending by the refused request
    status, _ = api_request(sock, "GET", "/tx?tx=t", b"")
    assert status == 404
