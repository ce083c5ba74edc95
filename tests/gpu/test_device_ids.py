"""The shipped id lists (gpu/data/) and their parser, incl. Bottlerocket's own file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpu.device_ids import (
    DATA,
    amazon_ids,
    open_gpu_list,
    parse_hex_id,
    parse_open_gpu_list,
)
from kindling.errors import InputError

BOTTLEROCKET_EXCLUDED = [0x1DB1, 0x1DB5, 0x1EB8, 0x1EB4, 0x2237, 0x27B8, 0x26B9]


def test_h100_is_open_and_every_exclusion_is_proprietary() -> None:
    lst = open_gpu_list()
    assert 0x2330 in lst
    assert lst.name(0x2330) == "NVIDIA H100 80GB HBM3"
    for devid in BOTTLEROCKET_EXCLUDED:
        assert devid not in lst, hex(devid)
        assert lst.name(devid), "excluded devices keep a name for detect"
    # T4 is in NVIDIA's list: only the (corrected) exclusion keeps it proprietary.
    raw = json.loads((DATA / "nvidia-open-gpu-devices.json").read_text())
    assert raw["source"]["repository"] == "NVIDIA/open-gpu-kernel-modules"
    assert len(raw["open-gpu"]) == 819
    assert len(lst.names) == 289 - 4  # distinct ids minus T4, A10G, L4, L40S


def test_bottlerocket_typo_is_corrected() -> None:
    """Bottlerocket excludes `0x1DEB8`, which is no 16-bit PCI id and matches nothing;
    the shipped exclusions hold T4's real id, and the parser refuses the typo."""
    assert 0x1EB8 in open_gpu_list().excluded
    with pytest.raises(InputError, match="PCI ids are 16 bits"):
        parse_hex_id("0x1DEB8", source="t", key="excluded[0].devid")


def test_parses_bottlerocket_fixture(conformance: Path) -> None:
    path = conformance / "bottlerocket/ghostdog/src/tests/open-gpu-supported-devices-test.json"
    parsed = parse_open_gpu_list(path.read_text(), source=str(path))
    raw = json.loads(path.read_text())
    vectors = json.loads((conformance / "bottlerocket/ghostdog/derived/ghostdog_vectors.json")
                         .read_text())
    assert len(raw["open-gpu"]) == vectors["match_nvidia_driver"]["fixture_expect"]["open-gpu_entries"]
    assert set(parsed.names) == {0x1E02, 0x1E04, 0x1E07, 0x1E30, 0x2237}


def test_kernelopen_feature_required_and_bad_input_named() -> None:
    doc = {"open-gpu": [{"devid": "0x1234", "name": "x", "features": []}]}
    assert 0x1234 not in parse_open_gpu_list(json.dumps(doc), source="t")
    with pytest.raises(InputError, match=r"^f: not JSON"):
        parse_open_gpu_list("{", source="f")
    with pytest.raises(InputError, match=r"open-gpu\[0\]\.devid: not a hexadecimal PCI id"):
        parse_open_gpu_list('{"open-gpu": [{"devid": "zz"}]}', source="f")


def test_amazon_ids() -> None:
    ids = amazon_ids()
    assert set(ids.neuron) == {0x7064, 0x7065, 0x7066, 0x7067, 0x7164, 0x7264, 0x7364}
    assert set(ids.efa) == {0xEFA0, 0xEFA1, 0xEFA2, 0xEFA3}
    assert (DATA / "README.md").is_file()
