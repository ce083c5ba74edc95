"""The one exception hierarchy of Kindling (STYLE: Errors).

    KindlingError                 anything Kindling reports on purpose (CLI exit 1)
    ├── UsageError                bad command line (CLI exit 2)
    ├── InputError                bad input: names its source and key, never the value
    │   └── SettingsError         settings that fail the model (carries the dotted key)
    ├── PlanBoundary              --plan reached a network call or a wait: the plan stops there
    ├── NotFoundError             a thing asked for does not exist (API 404)
    ├── ConflictError             state forbids the request (API 409)
    └── HostError                 a side effect failed: a command, a file, the kernel
        ├── CommandError          a program exited non-zero or timed out
        └── ImdsError             IMDS could not be read within the retry budget, or answered
                                  nonsense (kindling/imds.py: the aws platform and netdog read it)

Service packages derive their own errors from these in their `errors.py`. Messages
name the source and key (`imds: settings.network.hostname: not a valid Linux
hostname`); values are never echoed because user data carries credentials.
"""

from __future__ import annotations

__all__ = [
    "CommandError",
    "ConflictError",
    "HostError",
    "ImdsError",
    "InputError",
    "KindlingError",
    "NotFoundError",
    "PlanBoundary",
    "SettingsError",
    "UsageError",
    "describe",
]


class KindlingError(Exception):
    """Root of every error Kindling raises on purpose."""


class UsageError(KindlingError):
    """The command line itself is wrong (exit status 2)."""


class InputError(KindlingError):
    """Input that fails parsing or validation; `source` says where it came from."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class SettingsError(InputError):
    """A settings value fails the model; `key` is the full dotted path."""

    def __init__(self, key: str, rule: str, *, source: str | None = None) -> None:
        self.key = key
        self.rule = rule
        super().__init__(f"{key}: {rule}", source=source)


class PlanBoundary(KindlingError):
    """A `--plan` run reached a step whose outcome only the network or a wait can tell.

    Raised by `RecordingHost.network` / `.waiting` (and the plan clock) instead of
    sending a request or sleeping. It is no failure: the CLI prints what was planned up
    to there (`actions`), the step itself, and what the service says would follow
    (`then`), and exits 0; `kindling boot --plan` reports the stage as planned.
    """

    def __init__(self, what: str, *, actions: list[str] | None = None) -> None:
        self.what = what
        self.actions = list(actions or [])
        self.then: list[str] = []
        super().__init__(f"would {what}; the rest of the plan depends on its outcome")

    def lines(self) -> list[str]:
        """Every step of the plan, in order, each to be printed as `would …`."""
        return [*self.actions, self.what, *self.then]


class NotFoundError(KindlingError):
    """The named thing (transaction, key, file) does not exist."""


class ConflictError(KindlingError):
    """The request is well formed but the current state forbids it."""


class HostError(KindlingError):
    """A side effect through the Host failed."""


class CommandError(HostError):
    """A program run through the Host runner failed."""

    def __init__(
        self, argv: list[str], returncode: int | None, stderr: str, *, reason: str | None = None
    ) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        # why it was stopped, when it was: "timed out after 5s", "stdout larger than …"
        self.reason = reason or ("timed out" if returncode is None else None)
        what = self.reason or f"exited {returncode}"
        tail = stderr.strip().splitlines()[-1:] if stderr.strip() else []
        detail = f": {tail[0][:300]}" if tail else ""
        super().__init__(f"{argv[0]} {what}{detail}")


class ImdsError(HostError):
    """IMDS could not be read within the budget, or answered nonsense."""


def describe(exc: BaseException) -> str:
    """One line for an exception Kindling did not raise on purpose (CLI, boot runner).

    The last-resort handlers print this instead of a traceback: the exception's kind
    and its own message (an `OSError` as its strerror and file name), at most 300
    characters. A `RecursionError` means input nested past what a parser could walk.
    """
    if isinstance(exc, KindlingError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "input nested too deeply"
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return f"{where}{exc.strerror}"[:300]
    detail = str(exc).strip().splitlines()[:1]
    return f"internal error: {type(exc).__name__}" + (f": {detail[0][:300]}" if detail else "")
