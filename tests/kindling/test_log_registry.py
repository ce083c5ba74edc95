"""Logging (journal priority prefix, JSON, secret scrubbing) and the entry-point reader."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from kindling import log
from kindling.registry import _parse


@pytest.fixture(autouse=True)
def _reset() -> None:
    yield
    log.configure()
    log._Config.secrets.clear()


def test_text_lines_get_the_priority_prefix_when_stderr_is_the_journal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with open(tmp_path / "journal", "w+", encoding="utf-8") as stream:
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        log.configure(stream=stream, level="debug")
        log.get("netdog").warning("no lease yet", interface="eth0")
        log.get("netdog").debug("detail")
        log.get("netdog").error("failed")
        stream.seek(0)
        assert stream.read().splitlines() == [
            "<4>netdog: no lease yet interface=eth0", "<7>netdog: detail", "<3>netdog: failed"]


@pytest.mark.parametrize("value", ["8:1234", "", "garbage", "1:x"])
def test_an_inherited_journal_stream_that_is_not_stderr_adds_no_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    """sd-daemon(3): JOURNAL_STREAM is inherited by children whose stderr went elsewhere
    (a pipe, a file); only a matching dev:ino means journald reads our lines."""
    monkeypatch.setenv("JOURNAL_STREAM", value)
    with open(tmp_path / "not-the-journal", "w+", encoding="utf-8") as stream:
        log.configure(stream=stream)
        log.get("netdog").error("failed")
        stream.seek(0)
        assert stream.read() == "netdog: failed\n"
    out = io.StringIO()  # no file descriptor at all
    log.configure(stream=out)
    log.get("netdog").error("failed")
    assert out.getvalue() == "netdog: failed\n"


def test_json_format_and_level_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    out = io.StringIO()
    log.configure(stream=out, fmt="json", level="warning")
    log.get("boot").info("hidden")
    log.get("boot").error("failed", stage="growpart")
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "error" and record["component"] == "boot" and record["stage"] == "growpart"


def test_registered_secrets_never_reach_a_line() -> None:
    out = io.StringIO()
    log.configure(stream=out)
    log.register_secret("AKIAsecretcanary42")
    log.get("x").info("value was AKIAsecretcanary42", also="AKIAsecretcanary42")
    assert "AKIAsecretcanary42" not in out.getvalue() and "***" in out.getvalue()


def test_entry_points_text_is_parsed() -> None:
    text = "[kindling.boot_stages]\ngrowpart = growpart.stage:STAGE\n\n[other]\nx = y:z\n# c\n"
    eps = _parse(text, "kindling")
    assert [(e.group, e.name, e.value) for e in eps] == [
        ("kindling.boot_stages", "growpart", "growpart.stage:STAGE"), ("other", "x", "y:z")]


def test_real_metadata_is_found() -> None:
    from kindling.registry import entry_points

    names = {e.name for e in entry_points("kindling.appliers")}
    assert "motd" in names
    assert len([e for e in entry_points("kindling.appliers") if e.name == "motd"]) == 1
