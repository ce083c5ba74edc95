"""The one retry loop of Kindling (STYLE: "Retries go through the one retry function").

Fibonacci backoff (250 ms, 250 ms, 500 ms, 750 ms, 1.25 s … capped at 10 s) within a
total budget, as DESIGN §7 asks of IMDS; `Retry-After` from the failure overrides the
computed delay. Time comes from the Host clock, so tests cost no waiting. Jitter
spreads a fleet's retries (every node of an Auto Scaling group boots at once).

Every wait says so (an operator must never stare at a silent minute): the first
retry logs one info line naming what is waited for and for how long at most, and
each retry one line with the reason and the time left. Under `--plan` the Host's
clock refuses to sleep, and the plan reports the retry it would have made.
"""

from __future__ import annotations

from kindling.errors import KindlingError, PlanBoundary
from kindling.record import record

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Iterator
    from typing import TypeVar

    from kindling.host import Clock

    T = TypeVar("T")

__all__ = ["RetryBudgetExceeded", "RetryPolicy", "Retryable", "fibonacci_delays", "retry"]


class Retryable(KindlingError):
    """Raised by an operation to ask for another try; `retry_after` in seconds if told."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class RetryBudgetExceeded(KindlingError):
    """The total budget ran out; the message names what was tried and the last error."""


@record(frozen=True)
class RetryPolicy:
    """Backoff shape: first delay, cap, total budget (seconds) and jitter fraction."""

    first: float = 0.25
    cap: float = 10.0
    budget: float = 300.0
    jitter: float = 0.1


def fibonacci_delays(first: float, cap: float) -> Iterator[float]:
    """first, first, 2·first, 3·first, 5·first … each capped at `cap`."""
    a, b = first, first
    while True:
        yield min(a, cap)
        a, b = b, a + b


def retry(
    operation: Callable[[], T],
    *,
    clock: Clock,
    what: str,
    policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
    on_retry: Callable[[int, Retryable, float], None] | None = None,
) -> T:
    """Call `operation` until it returns, retrying only on `Retryable`.

    Any other exception propagates at once (a 404 is an answer, not a failure).
    The budget counts from the first call; the last sleep is trimmed so the loop
    never overruns it, and a `Retry-After` beyond the budget ends the loop.
    """
    pol = policy or RetryPolicy()
    rand = rng
    start = clock.monotonic()
    delays = fibonacci_delays(pol.first, pol.cap)
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation()
        except Retryable as exc:
            elapsed = clock.monotonic() - start
            remaining = pol.budget - elapsed
            delay = next(delays)
            if pol.jitter:
                if rand is None:
                    import random  # on the first retry only: most boots never retry

                    rand = random.Random()
                delay *= 1.0 + rand.uniform(-pol.jitter, pol.jitter)
            if exc.retry_after is not None:
                delay = max(exc.retry_after, 0.0)
            if remaining <= 0 or delay > remaining:
                raise RetryBudgetExceeded(
                    f"{what}: gave up after {attempt} attempts in {elapsed:.1f}s "
                    f"(budget {pol.budget:g}s): {exc}"
                ) from exc
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            _announce(what, attempt, exc, delay, remaining, pol.budget)
            try:
                clock.sleep(delay)
            except PlanBoundary as stop:
                raise PlanBoundary(f"retry {what} for at most {pol.budget:g}s ({exc})",
                                   actions=stop.actions) from None


def _announce(what: str, attempt: int, exc: Retryable, delay: float, remaining: float, budget: float) -> None:
    """One line when the wait starts, one per retry (info: a wait is normal, not a fault)."""
    from kindling import log

    logger = log.get("retry")
    if attempt == 1:
        logger.info(f"waiting for {what} (at most {budget:g}s)", reason=str(exc))
    logger.info(f"retrying {what} in {delay:.2f}s", attempt=attempt, reason=str(exc),
                left=f"{max(remaining - delay, 0.0):.1f}s")
