"""Errors of early-boot-config (STYLE: one hierarchy, messages name source and key).

    kindling.errors.InputError
    └── ProviderError        a provider failed or its data was refused; names the
                             provider and its source (and the key, for settings)

Every failure leaves the datastore untouched and writes no marker (DESIGN §7).
"""

from __future__ import annotations

from kindling.errors import InputError

__all__ = ["ProviderError"]


class ProviderError(InputError):
    """`provider ec2-imds (IMDS user-data): settings.motd: expected a string`."""

    def __init__(self, provider: str, message: str, *, source: str | None = None) -> None:
        self.provider = provider
        where = f"provider {provider} ({source})" if source else f"provider {provider}"
        super().__init__(message, source=where)
