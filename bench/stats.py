"""Statistics for the benchmark tables: median/min/max summaries, percentiles, and
pairwise ratios.

Pure functions over lists of floats, so the arithmetic the report rests on is unit
tested (tests/bench/). Ratios of a peer pair are taken *per pair* (run i of A against
run i of B, measured back to back) and then summarised: a slow minute of the machine
moves both sides of a pair together instead of skewing one side's median.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Summary", "pair_ratios", "paired", "percentile", "series"]

T = TypeVar("T")


@dataclass(frozen=True)
class Summary:
    """Median, min and max of `n` measurements (in the unit of the caller)."""

    n: int
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            raise ValueError("no measurements to summarise")
        if any(math.isnan(v) for v in values):
            raise ValueError("NaN among measurements")
        return cls(len(values), float(statistics.median(values)), float(min(values)), float(max(values)))

    def scaled(self, factor: float) -> Summary:
        """The same summary in another unit (e.g. seconds → milliseconds)."""
        return Summary(self.n, self.median * factor, self.min * factor, self.max * factor)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), interpolated linearly between closest ranks
    (numpy's default), so p50 of an even count is the usual median."""
    if not values:
        raise ValueError("no values")
    if not 0 <= p <= 100:
        raise ValueError("percentile must be within 0..100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return float(ordered[lo])
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def pair_ratios(first: Sequence[float], second: Sequence[float]) -> list[float]:
    """second[i] / first[i] for every pair; both runs of a pair came back to back."""
    if len(first) != len(second):
        raise ValueError("pairs need as many runs on each side")
    if not first:
        raise ValueError("no pairs")
    if any(v <= 0 for v in first):
        raise ValueError("a ratio needs a positive denominator")
    return [b / a for a, b in zip(first, second, strict=True)]


def series(run: Callable[[], T], runs: int, warmup: int = 1) -> list[T]:
    """`warmup` discarded calls, then `runs` kept ones."""
    if runs < 1 or warmup < 0:
        raise ValueError("runs must be ≥ 1 and warmup ≥ 0")
    for _ in range(warmup):
        run()
    return [run() for _ in range(runs)]


def paired(first: Callable[[], T], second: Callable[[], T], runs: int, warmup: int = 1) -> tuple[list[T], list[T]]:
    """A B A B …: each warm-up and each kept round runs `first` then `second`, so the
    i-th results of both lists form a pair measured in the same moment."""
    if runs < 1 or warmup < 0:
        raise ValueError("runs must be ≥ 1 and warmup ≥ 0")
    for _ in range(warmup):
        first()
        second()
    a: list[T] = []
    b: list[T] = []
    for _ in range(runs):
        a.append(first())
        b.append(second())
    return a, b
