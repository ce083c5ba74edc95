"""The flavour choice (pure) and its setting."""

from __future__ import annotations

import pytest

from gpu.device_ids import open_gpu_list
from gpu.flavor import choose_flavor, parse_flavor_name, parse_flavor_setting
from kindling.errors import SettingsError, UsageError

H100, T4, V100, L4, A10G = 0x2330, 0x1EB8, 0x1DB1, 0x27B8, 0x2237


@pytest.mark.parametrize(
    ("devices", "setting", "flavor"),
    [
        ([H100], "auto", "open"),
        ([H100, H100, H100, H100], "auto", "open"),
        ([T4], "auto", "proprietary"),
        ([V100], "auto", "proprietary"),
        ([L4], "auto", "proprietary"),
        ([A10G], "auto", "proprietary"),
        ([H100, T4], "auto", "proprietary"),  # mixed box: every GPU must be open-capable
        ([H100], "proprietary", "proprietary"),
        ([T4], "open", "open"),
        ([], "auto", None),
        ([], "open", None),  # a setting does not invent a GPU
    ],
)
def test_choice(devices: list[int], setting: str, flavor: str | None) -> None:
    assert choose_flavor(devices, open_gpu_list(), setting).flavor == flavor


def test_reasons_name_the_cause() -> None:
    lst = open_gpu_list()
    assert "0x1EB8" in choose_flavor([H100, T4], lst).reason
    assert "settings.gpu.nvidia.flavor" in choose_flavor([H100], lst, "proprietary").reason
    assert choose_flavor([], lst).reason == "no NVIDIA GPU present"


def test_names_and_aliases() -> None:
    assert parse_flavor_name("open-gpu") == "open"
    assert parse_flavor_name("tesla") == "proprietary"
    with pytest.raises(UsageError):
        parse_flavor_name("nouveau")


def test_unknown_setting_named_never_echoed() -> None:
    with pytest.raises(SettingsError) as err:
        parse_flavor_setting("grid-s3cret", source="datastore")
    assert "settings.gpu.nvidia.flavor" in str(err.value)
    assert "s3cret" not in str(err.value)
    assert parse_flavor_setting(None, source="x") == "auto"
    with pytest.raises(SettingsError):
        choose_flavor([H100], open_gpu_list(), "grid")
