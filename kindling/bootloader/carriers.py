"""Which mechanism carries each boot parameter to the kernel, and is it in effect now.

Pure (no Host). A generic distribution gives a parameter three ways in:
- `cmdline`: the boot loader's kernel command line (GRUB drop-in, BLS `options`);
- `bootconfig`: the initrd footer, which the kernel parses only when built with
  CONFIG_BOOT_CONFIG and given `bootconfig` on its command line; the kernel then
  prepends `kernel.*` keys to the command line and `init.*` keys after `--`
  (Documentation/admin-guide/bootconfig.rst, "Kernel parameters via Boot Config");
- nowhere: reported, never rebooted for.

Parameters the kernel documents as EARLY ("processed too early to be embedded in
initrd": `crashkernel=`, `mem=`, `cma=`, `nosmt`, …, early_params.json, taken from
kernel-parameters.txt of Linux 6.12) always travel on the command line: bootconfig is
parsed after setup_arch(), when they have been read already. On a kernel without
CONFIG_BOOT_CONFIG (Debian 12's kernels, all flavours) every kernel parameter does;
init parameters then have no carrier (a `--` in GRUB_CMDLINE_LINUX would turn the
distribution's own default arguments into init arguments).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from kindling.bootconfig.boot_params import BootParams
from kindling.record import record

__all__ = [
    "BOOTCONFIG",
    "CMDLINE",
    "NOWHERE",
    "Carried",
    "assign",
    "cmdline_tokens",
    "early_params",
    "in_effect",
    "kernel_part",
]

CMDLINE = "cmdline"
BOOTCONFIG = "bootconfig"
NOWHERE = "none"


@lru_cache(maxsize=1)
def early_params() -> frozenset[str]:
    """Names the kernel documents as EARLY (read before bootconfig is parsed)."""
    # beside this module (importlib.resources would import tempfile, shutil, zipfile: ~5 ms)
    with open(os.path.join(os.path.dirname(__file__), "early_params.json"), encoding="utf-8") as fh:
        text = fh.read()
    return frozenset(json.loads(text)["names"])


@record(frozen=True)
class Carried:
    """One parameter, the mechanism that carries it and why (never its values in `why`)."""

    key: str  # kernel.crashkernel, init.splash
    name: str
    values: tuple[str, ...]
    carrier: str  # CMDLINE | BOOTCONFIG | NOWHERE
    why: str

    @property
    def section(self) -> str:
        return self.key.partition(".")[0]

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "carrier": self.carrier, "why": self.why}


def assign(params: BootParams, *, kernel_bootconfig: bool, loader: str) -> list[Carried]:
    """The carrier of every parameter, given the kernel's bootconfig support and the loader.

    `loader` is `grub`, `systemd-boot` or `none` (no boot-loader integration: only a
    bootconfig the kernel already parses can carry anything).
    """
    early = early_params()
    out: list[Carried] = []
    for name in sorted(params.kernel):
        values = params.kernel[name]
        if loader == "none":
            # bootconfig.data is loaded by something Kindling does not manage (Bottlerocket's
            # own GRUB): compare with /proc/bootconfig as prairiedog does
            if kernel_bootconfig:
                carrier, why = BOOTCONFIG, "bootconfig.data, loaded outside Kindling"
            else:
                carrier, why = NOWHERE, ("no boot-loader integration and no bootconfig support "
                                         "in the kernel")
        elif name in early:
            carrier, why = CMDLINE, "EARLY parameter: read before bootconfig is parsed"
        elif kernel_bootconfig:
            carrier, why = BOOTCONFIG, "initrd footer, parsed by the kernel"
        else:
            carrier, why = CMDLINE, "the kernel has no CONFIG_BOOT_CONFIG"
        out.append(Carried(f"kernel.{name}", name, values, carrier, why))
    for name in sorted(params.init):
        if kernel_bootconfig:
            carrier, why = BOOTCONFIG, "initrd footer (init.* keys go after --)"
        else:
            carrier, why = NOWHERE, ("init parameters travel only in bootconfig, which this "
                                     "kernel cannot parse")
        out.append(Carried(f"init.{name}", name, params.init[name], carrier, why))
    return out


def _token(name: str, value: str) -> str:
    quote = '"' if any(c.isspace() for c in value) else ""
    return f"{name}={quote}{value}{quote}"


def cmdline_tokens(carried: list[Carried]) -> list[str]:
    """Kernel command-line words for the boot loader: `bootconfig` first when a footer
    carries anything, then each command-line parameter as the kernel's own bootconfig
    expansion writes it (a repeated `name=value` per value, a bare `name` without)."""
    words = ["bootconfig"] if any(c.carrier == BOOTCONFIG for c in carried) else []
    for c in carried:
        if c.carrier != CMDLINE:
            continue
        words += [_token(c.name, v) for v in c.values] if c.values else [c.name]
    return words


def kernel_part(cmdline: str) -> list[str]:
    """The words of a /proc/cmdline before `--` (the kernel's own parameters)."""
    words: list[str] = []
    for word in cmdline.split():
        if word == "--":
            break
        words.append(word)
    return words


def _cmdline_values(words: list[str], name: str) -> tuple[list[str], bool]:
    values: list[str] = []
    bare = False
    for word in words:
        key, eq, value = word.partition("=")
        if key != name:
            continue
        if eq:
            values.append(value.strip('"'))
        else:
            bare = True
    return values, bare


def in_effect(c: Carried, cmdline: str, running: BootParams | None) -> bool:
    """Whether the running kernel got this parameter (NOWHERE counts as in effect: a
    reboot cannot change it, so it never asks for one)."""
    if c.carrier == NOWHERE:
        return True
    if c.carrier == CMDLINE:
        values, bare = _cmdline_values(kernel_part(cmdline), c.name)
        if not c.values:
            return bare or "" in values
        return values[-len(c.values):] == list(c.values)
    if running is None:
        return False
    from kindling.bootconfig.boot_params import params_differ

    have = running.section(c.section).get(c.name)
    theirs = _one(c.section, c.name, have) if have is not None else BootParams()
    return not params_differ(theirs, _one(c.section, c.name, c.values))


def _one(section: str, name: str, values: tuple[str, ...]) -> BootParams:
    return BootParams(kernel={name: values}) if section == "kernel" else BootParams(init={name: values})
