"""Errors of the AWS platform package (STYLE: one hierarchy, drawn here).

    KindlingError
    ├── InputError
    │   └── CredentialsError      no usable AWS credentials (names the sources tried)
    └── HostError
        ├── ImdsError             IMDS could not be read within the retry budget, or
        │                         answered something that is not what the path holds
        │                         (kindling.errors: netdog reads IMDS too)
        ├── SystemStateError      D-Bus / systemd could not be asked (unreachable, no systemd)
        └── AwsApiError           an AWS Query-API call failed (names service, action, code)
            └── AwsThrottled      still throttled when the retry budget ran out

Bad *content* (user data that is not TOML, an identity document without a region)
is a `kindling.errors.InputError` naming its source, like every other provider's.
Messages name the service, action, setting key or environment variable; never a
value from user data (credentials, profile contents). AWS's own error message is
kept (it names stacks and groups, which are not secrets), cut to one short line.
"""

from __future__ import annotations

from kindling.errors import HostError, ImdsError, InputError

__all__ = ["AwsApiError", "AwsThrottled", "CredentialsError", "ImdsError", "SystemStateError"]


class CredentialsError(InputError):
    """No credentials could be found in any source of the chain."""


class SystemStateError(HostError):
    """The system manager could not be asked for its state over D-Bus."""


class AwsApiError(HostError):
    """An AWS API call was refused or could not be delivered."""

    def __init__(self, service: str, action: str, detail: str, *, code: str | None = None) -> None:
        self.service = service
        self.action = action
        self.code = code
        super().__init__(f"{service} {action}: {detail}")


class AwsThrottled(AwsApiError):
    """Throttling outlasted the retry budget."""
