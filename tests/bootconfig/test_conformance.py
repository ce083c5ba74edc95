"""Every kernel sample behaves as linux-bootconfig/EXPECTED.md says (items 15, 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kindling.bootconfig import BootconfigError, parse_bootconfig, render_compact
from tests.conftest import conformance_dir

SAMPLES = "linux-bootconfig/samples"


def _names(prefix: str) -> list[str]:
    found = conformance_dir()
    if found is None:
        return []
    return sorted(p.name for p in (found / SAMPLES).glob(prefix + "*.bconf"))


@pytest.mark.parametrize("name", _names("bad-"))
def test_bad_samples_are_rejected(conformance: Path, name: str) -> None:
    data = (conformance / SAMPLES / name).read_bytes()
    with pytest.raises(BootconfigError) as info:
        parse_bootconfig(data, source=name)
    assert str(info.value).startswith(f"{name}: ")


@pytest.mark.parametrize("name", _names("good-"))
def test_good_samples_parse_and_show_equals_exp(conformance: Path, name: str) -> None:
    cfg = parse_bootconfig((conformance / SAMPLES / name).read_bytes(), source=name)
    assert len(cfg) > 0
    exp = conformance / SAMPLES / f"exp-{name}"
    if exp.exists():
        assert render_compact(cfg) == exp.read_text()


def test_every_expectation_is_covered(conformance: Path) -> None:
    expectations = json.loads(
        (conformance / "linux-bootconfig/derived/expectations.json").read_text()
    )["samples"]
    for name, rule in expectations.items():
        if rule["expect"] == "reject":
            assert name in _names("bad-")
        elif rule["expect"] == "accept":
            assert name in _names("good-")


def test_historical_samples_are_accepted_under_current_rules(conformance: Path) -> None:
    hist = conformance / "linux-bootconfig/historical"
    over = parse_bootconfig((hist / "bad-override.bconf").read_text())
    assert over == {"key": ("value",), "key.subkey": ("value",)}
    over2 = parse_bootconfig((hist / "bad-override2.bconf").read_text())
    assert over2 == {"key": ("value",), "key.subkey": ("value",)}
