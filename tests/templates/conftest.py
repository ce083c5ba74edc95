"""Shared pieces of the template tests: a temp root and a commit through the settings service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kindling.api.service import CommitReport, SettingsService
from kindling.host import FakeClock, Host


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


def host_of(root: Path, env: dict[str, str] | None = None) -> Host:
    return Host(root, clock=FakeClock(), env=env or {"PATH": "/usr/bin:/bin"})


def commit(root: Path, tree: dict[str, Any], env: dict[str, str] | None = None) -> CommitReport:
    return SettingsService(host_of(root, env)).set_tree(tree, tx="test", source="test")


def outcomes(report: CommitReport) -> dict[str, tuple[bool, str]]:
    return {o.name: (o.ok, o.detail) for o in report.applied}


def user_template(root: Path, name: str, text: str) -> Path:
    d = root / "etc/kindling/templates.d"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.toml").write_text(text)
    return d / f"{name}.toml"
