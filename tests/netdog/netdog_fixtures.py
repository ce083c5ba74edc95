"""Helpers for the Bottlerocket netdog conformance fixtures (read in place)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["expectations", "netdog_dir", "render_template"]

_IF_BLOCK = re.compile(r"\{\{#if \(eq version (\d+)\)\}\}(.*?)\{\{/if\}\}", re.S)


def netdog_dir(conformance: Path) -> Path:
    return conformance / "bottlerocket" / "netdog"


def expectations(conformance: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (netdog_dir(conformance) / "derived" / "expectations.json").read_text()
    )
    return data


def render_template(text: str, version: int) -> str:
    """Render upstream's Handlebars subset: `{{version}}` and `{{#if (eq version N)}}`."""
    text = _IF_BLOCK.sub(lambda m: m.group(2) if int(m.group(1)) == version else "", text)
    return text.replace("{{version}}", str(version))
