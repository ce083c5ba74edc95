"""The shipped device-id lists (gpu/data/, sources in gpu/data/README.md), parsed once.

Parsing is pure (`parse_open_gpu_list`, `parse_amazon_devices`): text in, frozen id
tables out, so Bottlerocket's own `open-gpu-supported-devices.json` can be checked with
the same function. Ids are ints; names keep NVIDIA's and AWS's spelling.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from kindling.errors import InputError
from kindling.record import record

__all__ = [
    "AMAZON_VENDOR",
    "NVIDIA_VENDOR",
    "AmazonIds",
    "OpenGpuList",
    "amazon_ids",
    "open_gpu_list",
    "parse_amazon_devices",
    "parse_hex_id",
    "parse_open_gpu_list",
]

NVIDIA_VENDOR = 0x10DE
AMAZON_VENDOR = 0x1D0F
DATA = Path(__file__).resolve().parent / "data"


def parse_hex_id(text: object, *, source: str, key: str) -> int:
    """`"0x2330"` / `"2330"` -> 0x2330; a 16-bit PCI id or an InputError naming the key."""
    if not isinstance(text, str):
        raise InputError(f"{key}: not a string", source=source)
    raw = text.strip().lower().removeprefix("0x")
    try:
        value = int(raw, 16)
    except ValueError:
        raise InputError(f"{key}: not a hexadecimal PCI id", source=source) from None
    if not 0 <= value <= 0xFFFF:
        raise InputError(f"{key}: PCI ids are 16 bits", source=source)
    return value


@record(frozen=True)
class OpenGpuList:
    """Device ids that take the open kernel modules, with NVIDIA's product names."""

    names: dict[int, str]
    excluded: dict[int, str]

    def __contains__(self, devid: object) -> bool:
        return devid in self.names

    def name(self, devid: int) -> str | None:
        return self.names.get(devid) or self.excluded.get(devid)


@record(frozen=True)
class AmazonIds:
    neuron: dict[int, str]
    efa: dict[int, str]


def _load_json(text: str, source: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON (line {exc.lineno})", source=source) from None
    if not isinstance(doc, dict):
        raise InputError("top level is not an object", source=source)
    return doc


def parse_open_gpu_list(text: str, *, source: str) -> OpenGpuList:
    """Bottlerocket's `{"open-gpu": [{devid, name, features…}]}` shape (+ `excluded`).

    Only entries whose `features` hold `kernelopen` count (ghostdog's contract);
    ids in `excluded` are removed even if listed, so the exclusion rule lives in data.
    """
    doc = _load_json(text, source)
    entries = doc.get("open-gpu")
    if not isinstance(entries, list):
        raise InputError("open-gpu: missing or not a list", source=source)
    excluded: dict[int, str] = {}
    for i, item in enumerate(doc.get("excluded", [])):
        if not isinstance(item, dict):
            raise InputError(f"excluded[{i}]: not an object", source=source)
        devid = parse_hex_id(item.get("devid"), source=source, key=f"excluded[{i}].devid")
        excluded[devid] = str(item.get("name", ""))
    names: dict[int, str] = {}
    for i, item in enumerate(entries):
        if not isinstance(item, dict):
            raise InputError(f"open-gpu[{i}]: not an object", source=source)
        devid = parse_hex_id(item.get("devid"), source=source, key=f"open-gpu[{i}].devid")
        features = item.get("features", [])
        if not isinstance(features, list) or "kernelopen" not in features:
            continue
        if devid not in excluded:
            names.setdefault(devid, str(item.get("name", "")))
    return OpenGpuList(names, excluded)


def parse_amazon_devices(text: str, *, source: str) -> AmazonIds:
    doc = _load_json(text, source)
    tables: list[dict[int, str]] = []
    for family in ("neuron", "efa"):
        node = doc.get(family)
        devices = node.get("devices") if isinstance(node, dict) else None
        if not isinstance(devices, list):
            raise InputError(f"{family}.devices: missing or not a list", source=source)
        table: dict[int, str] = {}
        for i, item in enumerate(devices):
            if not isinstance(item, dict):
                raise InputError(f"{family}.devices[{i}]: not an object", source=source)
            key = f"{family}.devices[{i}].devid"
            table[parse_hex_id(item.get("devid"), source=source, key=key)] = str(
                item.get("name", "")
            )
        tables.append(table)
    return AmazonIds(neuron=tables[0], efa=tables[1])


@cache
def open_gpu_list() -> OpenGpuList:
    path = DATA / "nvidia-open-gpu-devices.json"
    return parse_open_gpu_list(path.read_text(encoding="utf-8"), source=str(path))


@cache
def amazon_ids() -> AmazonIds:
    path = DATA / "amazon-devices.json"
    return parse_amazon_devices(path.read_text(encoding="utf-8"), source=str(path))
