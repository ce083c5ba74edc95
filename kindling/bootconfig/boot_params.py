"""Boot settings <-> bootconfig text: prairiedog's two conversions, with its faults fixed.

`settings.boot.kernel-parameters` / `init-parameters` (DESIGN §6) map parameter name
-> list of values, `[]` meaning "a parameter without value" (`nosmt`). They become
`kernel.<name>` / `init.<name>` bootconfig keys (Bottlerocket's generate-boot-config,
reference §6.2), and /proc/bootconfig is read back into the same shape
(generate-boot-settings).

Faults fixed (reference §6.2, §14):
- bottlerocket#3957, reboot loop with `nosmt = []`: the kernel prints a key without
  value as `kernel.nosmt = ""` in /proc/bootconfig, so a naive read gives `[""]` and
  never equals the settings' `[]`. Here `[""]` read from /proc/bootconfig means "no
  value" unless /proc/cmdline proves the parameter really was `name=` (the kernel
  writes bootconfig parameters into the command line, where the two differ), and the
  reboot comparison treats `[]` and `[""]` as equal, since the kernel cannot tell them
  apart in /proc/bootconfig either way.
- A value-less parameter that also has sub-parameters (`a = []`, `a.b = [..]`)
  cannot be written as bootconfig (the bare key disappears in the tree) and would
  differ forever: it is refused with the settings key named.
- Keys other than `kernel.*` / `init.*` in /proc/bootconfig (`ftrace.*`,
  `kindling.settings.*` user data) are not boot parameters: they are reported and
  left out, instead of failing the whole read as prairiedog does.
- Output is sorted, so the same settings always give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from kindling.bootconfig.errors import BootconfigError
from kindling.bootconfig.model import BootConfig, check_key, check_value
from kindling.bootconfig.render import render_bootconfig
from kindling.dotted import format_key
from kindling.record import field, record

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DEFAULT_TEXT",
    "BootParams",
    "params_differ",
    "params_from_bootconfig",
    "params_from_settings",
    "render_boot_params",
]

# prairiedog writes this when there are no parameters (an empty bootconfig is invalid).
DEFAULT_TEXT = '\n    kernel = ""\n    init = ""\n'
_SECTIONS = (("kernel", "kernel-parameters"), ("init", "init-parameters"))

Params = dict[str, tuple[str, ...]]


@record(frozen=True)
class BootParams:
    """Kernel and init parameters: name -> values (`()` = parameter without value)."""

    kernel: Params = field(default_factory=dict)
    init: Params = field(default_factory=dict)
    ignored: tuple[str, ...] = ()  # top-level bootconfig keys that are not parameters

    @property
    def empty(self) -> bool:
        return not self.kernel and not self.init

    def section(self, top: str) -> Params:
        return self.kernel if top == "kernel" else self.init

    def to_settings(self) -> dict[str, Any]:
        """`{"boot": {"kernel-parameters": {...}, "init-parameters": {...}}}` (empty omitted)."""
        boot: dict[str, Any] = {}
        for top, name in _SECTIONS:
            params = self.section(top)
            if params:
                boot[name] = {k: list(v) for k, v in params.items()}
        return {"boot": boot} if boot else {}

    def fingerprint(self) -> str:
        """A digest of the normalised parameters (the reboot-loop guard's marker)."""
        blob = json.dumps([_normal(self.kernel), _normal(self.init)], sort_keys=True)
        import hashlib  # only when a fingerprint is needed (boot import budget)

        return hashlib.sha256(blob.encode()).hexdigest()


def _settings_key(section: str, name: str) -> str:
    return format_key(("settings", "boot", section, name))


def params_from_settings(boot: Mapping[str, Any] | None) -> BootParams:
    """The parameters in a `settings.boot` subtree, checked against the kernel's rules."""
    boot = boot or {}
    found: dict[str, Params] = {}
    for top, section in _SECTIONS:
        raw = boot.get(section) or {}
        if not isinstance(raw, Mapping):
            raise BootconfigError("expected a table", key=f"settings.boot.{section}",
                                  source="settings")
        params: Params = {}
        for name, values in raw.items():
            skey = _settings_key(section, name)
            try:
                check_key(f"{top}.{name}")
            except BootconfigError as exc:
                raise BootconfigError(str(exc).split(": ", 1)[-1], key=skey,
                                      source="settings") from None
            if isinstance(values, str) or not isinstance(values, list):
                raise BootconfigError("expected a list of strings", key=skey, source="settings")
            params[name] = tuple(check_value(v, key=skey, source="settings") for v in values)
        for name, values in params.items():
            if not values and any(other.startswith(name + ".") for other in params):
                raise BootconfigError(
                    "a parameter without value cannot also have sub-parameters",
                    key=_settings_key(section, name),
                    source="settings",
                )
        found[top] = params
    return BootParams(found["kernel"], found["init"])


def render_boot_params(params: BootParams) -> str:
    """The bootconfig text for `params`: `kernel.*` lines, then `init.*`, names sorted."""
    if params.empty:
        return DEFAULT_TEXT
    entries = [
        (f"{top}.{name}", params.section(top)[name])
        for top, _ in _SECTIONS
        for name in sorted(params.section(top))
    ]
    return render_bootconfig(BootConfig(entries, source="settings.boot"))


def _bare_names(cmdline: str | None) -> dict[str, set[str]]:
    """Parameters written without `=` in /proc/cmdline: kernel part, then after `--`."""
    bare: dict[str, set[str]] = {"kernel": set(), "init": set(), "kernel=": set(), "init=": set()}
    if cmdline is None:
        return bare
    part = "kernel"
    for token in cmdline.split():
        if token == "--":
            part = "init"
            continue
        name, eq, value = token.partition("=")
        if not eq:
            bare[part].add(name)
        elif value in ("", '""'):
            bare[part + "="].add(name)
    return bare


def params_from_bootconfig(cfg: BootConfig, *, cmdline: str | None = None,
                          source: str = "/proc/bootconfig") -> BootParams:
    """Boot parameters from a parsed bootconfig (usually /proc/bootconfig).

    `key = ""` becomes a parameter without value, unless `cmdline` (the text of
    /proc/cmdline) shows that parameter written as `name=` with an empty value.
    """
    bare = _bare_names(cmdline)
    found: dict[str, Params] = {"kernel": {}, "init": {}}
    ignored: list[str] = []
    for key, values in cfg.items():
        top, _, name = key.partition(".")
        if top not in found:
            if top not in ignored:
                ignored.append(top)
            continue
        if not name:
            if values not in ((), ("",)):
                raise BootconfigError(
                    f"'{top}' itself may only be empty; parameters go below it",
                    key=key, source=source,
                )
            continue
        written_empty = name in bare[top + "="] and name not in bare[top]
        found[top][name] = () if values == ("",) and not written_empty else values
    return BootParams(found["kernel"], found["init"], tuple(ignored))


def _normal(params: Params) -> dict[str, list[str]]:
    """Comparable form: `[""]` and `[]` are the same (the kernel cannot tell them apart)."""
    names = set(params)
    out: dict[str, list[str]] = {}
    for name, values in params.items():
        if not values and any(n.startswith(name + ".") for n in names):
            continue  # a bare parent key does not survive the kernel's tree
        out[name] = [] if values == ("",) else list(values)
    return out


def params_differ(running: BootParams, wanted: BootParams) -> list[str]:
    """Bootconfig keys (`kernel.x`, `init.y`) whose parameters differ; [] when equal."""
    changed: list[str] = []
    for top, _ in _SECTIONS:
        old, new = _normal(running.section(top)), _normal(wanted.section(top))
        changed += [f"{top}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return changed
