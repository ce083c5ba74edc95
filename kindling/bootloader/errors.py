"""Boot-loader integration errors (STYLE: Errors).

    HostError (kindling.errors)
    └── BootLoaderError     a step of the integration failed: `step` names it
                            (identify the boot loader, regenerate the initrd,
                            regenerate the GRUB configuration, update BLS entries);
                            the message says what was left in place
"""

from __future__ import annotations

from kindling.errors import HostError

__all__ = ["BootLoaderError"]


class BootLoaderError(HostError):
    """One step of the boot-loader integration failed; nothing after it ran."""

    def __init__(self, step: str, message: str) -> None:
        self.step = step
        super().__init__(f"boot loader: {step}: {message}")
