"""Which NVIDIA kernel-module flavour a node takes: a pure choice (issue 6, item 2).

Rule: `settings.gpu.nvidia.flavor` wins when it is `open` or `proprietary`; with `auto`
(the default) the node takes the open modules only if *every* NVIDIA GPU present is in
the shipped open-module list (gpu/data/), else the proprietary ones. ghostdog picks
open when *any* present device is listed, which on a mixed box loads modules that do
not drive the other GPUs; Kindling requires all. With no NVIDIA GPU there is no
flavour at all, so both `match-driver` conditions are false and no unit runs.

Bottlerocket's names are accepted as aliases: `open-gpu` = open, `tesla` = proprietary.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from kindling.errors import SettingsError, UsageError
from kindling.record import record

__all__ = [
    "FLAVORS",
    "MODULE_SETS",
    "SETTING_KEY",
    "FlavorChoice",
    "FlavorSets",
    "choose_flavor",
    "parse_flavor_name",
    "parse_flavor_setting",
]

FLAVORS = ("open", "proprietary")
SETTING_KEY = "settings.gpu.nvidia.flavor"
_ALIASES = {"open": "open", "open-gpu": "open", "proprietary": "proprietary", "tesla": "proprietary"}


@record(frozen=True)
class FlavorChoice:
    """The flavour to use (None: no NVIDIA GPU) and a one-line reason for humans."""

    flavor: str | None
    reason: str


def parse_flavor_name(text: str) -> str:
    """A command-line flavour (`open`, `proprietary`, or Bottlerocket's alias)."""
    try:
        return _ALIASES[text]
    except KeyError:
        raise UsageError(
            "flavour must be open or proprietary (aliases: open-gpu, tesla)"
        ) from None


def parse_flavor_setting(value: object, *, source: str) -> str:
    """The setting's value, or a SettingsError naming the key (never the value)."""
    if value is None:
        return "auto"
    if value not in ("auto", *FLAVORS):
        raise SettingsError(SETTING_KEY, "must be one of auto, open, proprietary", source=source)
    return str(value)


def choose_flavor(
    nvidia_device_ids: Sequence[int], open_ids: Container[int], setting: str = "auto"
) -> FlavorChoice:
    """Pick the flavour for the NVIDIA GPUs present (device ids, vendor 0x10de)."""
    if setting not in ("auto", *FLAVORS):
        raise SettingsError(SETTING_KEY, "must be one of auto, open, proprietary")
    if not nvidia_device_ids:
        return FlavorChoice(None, "no NVIDIA GPU present")
    if setting != "auto":
        return FlavorChoice(setting, f"{SETTING_KEY} = {setting}")
    missing = sorted({d for d in nvidia_device_ids if d not in open_ids})
    if not missing:
        return FlavorChoice("open", "every NVIDIA GPU present supports the open kernel modules")
    listed = ", ".join(f"0x{d:04X}" for d in missing)
    return FlavorChoice("proprietary", f"not in the open-module list: {listed}")


@record(frozen=True)
class FlavorSets:
    """driverdog modules sets per flavour (Bottlerocket's names, so its configs apply).

    `link` sets are linked or copied, then the `load` sets are loaded (Bottlerocket
    copies nvidia-drm and nvidia-peermem but loads neither). The units name the same
    sets (kindling/units/kindling-gpu-*.service).
    """

    link: tuple[str, ...]
    load: tuple[str, ...]


MODULE_SETS = {
    "open": FlavorSets(("nvidia-open-gpu", "nvidia-open-gpu-copy-only"), ("nvidia-open-gpu",)),
    "proprietary": FlavorSets(("nvidia-tesla",), ("nvidia-tesla",)),
}
