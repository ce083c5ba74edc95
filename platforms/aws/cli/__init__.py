"""Command wiring for `kindling cfsignal`, `kindling warm-pool-wait` and
`kindling lifecycle complete` (DESIGN §4): one module per command, as netdog's
`cli/`; logic lives in the service modules beside this package."""

from __future__ import annotations

import argparse

__all__ = ["seconds"]


def seconds(text: str) -> float:
    """argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value
