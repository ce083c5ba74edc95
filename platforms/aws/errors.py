"""Errors of the AWS platform package (STYLE: one hierarchy).

    kindling.errors.HostError
    └── ImdsError        IMDS could not be read within the retry budget, or answered
                         something that is not what the path holds (too large, not JSON)

Bad *content* (user data that is not TOML, an identity document without a region)
is a `kindling.errors.InputError` naming its source, like every other provider's.
"""

from __future__ import annotations

from kindling.errors import HostError

__all__ = ["ImdsError"]


class ImdsError(HostError):
    """IMDS could not be read within the budget, or answered nonsense."""
