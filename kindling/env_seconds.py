"""Durations from the environment (`KINDLING_IMDS_BUDGET=30`, …): one parser, one
error text, so every knob in docs/CONTRACT-NOTES.md behaves the same."""

from __future__ import annotations

from collections.abc import Mapping

from kindling.errors import InputError

__all__ = ["env_seconds"]


def env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """`env[name]` as a positive number of seconds; `default` when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError("not a number of seconds", source=name) from None
    if value <= 0:
        raise InputError("must be more than 0 seconds", source=name)
    return value
