"""Put settings.boot into the boot loader: the steps in order, and what now carries what.

Steps (each raises BootLoaderError naming itself; nothing after a failed step runs):
1. identify the boot loader (detect.py) — `settings.boot.loader` or `--loader` forces one;
2. install the initrd tool's hooks and regenerate the running kernel's initrd when its
   bootconfig footer differs from bootconfig.data (initrd.py; GRUB and dracut/
   initramfs-tools only: systemd-boot loads the data as a separate initrd);
3. write the command-line words: the GRUB drop-in + grub-mkconfig (grub.py), the BLS
   entries (bls.py);
4. record in `/var/lib/kindling/bootloader.json` what the loader now carries (loader,
   words, footer fingerprint, and the boot id at that moment), which `reboot-if-
   required` and the kdump checks compare with the running kernel: a parameter is
   rebooted for only once the loader really carries it.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping

from kindling.bootconfig.boot_params import params_from_settings, render_boot_params
from kindling.bootconfig.footer import write_footer
from kindling.bootloader.carriers import BOOTCONFIG, Carried, assign, cmdline_tokens, in_effect
from kindling.bootloader.detect import (
    Loader,
    detect_initrd_tool,
    detect_loader,
    kernel_bootconfig,
    running_release,
)
from kindling.host import Host
from kindling.record import field, record

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BOOT_ID",
    "STATE",
    "Integration",
    "LoaderState",
    "carriers_now",
    "integrate",
    "read_state",
]

STATE = "/var/lib/kindling/bootloader.json"
BOOT_ID = "/proc/sys/kernel/random/boot_id"
DATA = "/var/lib/kindling/bootconfig.data"


@record(frozen=True)
class LoaderState:
    """What the last successful integration left in the boot loader."""

    loader: str
    words: tuple[str, ...]
    boot_id: str  # the boot during which it was written

    def to_json(self) -> dict[str, Any]:
        return {"loader": self.loader, "words": list(self.words), "boot_id": self.boot_id}


def read_state(host: Host) -> LoaderState | None:
    text = host.read_optional(STATE)
    if text is None:
        return None
    try:
        raw = json.loads(text)
        return LoaderState(str(raw["loader"]), tuple(str(w) for w in raw["words"]),
                           str(raw.get("boot_id", "")))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable state: as if never integrated (nothing to reboot for)


def boot_id(host: Host) -> str:
    return (host.read_optional(BOOT_ID) or "").strip()


@record
class Integration:
    loader: Loader
    release: str
    kernel_bootconfig: bool | None
    carried: list[Carried]
    words: list[str]
    done: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"loader": self.loader.to_json(), "kernel_release": self.release,
                "kernel_bootconfig": self.kernel_bootconfig,
                "parameters": [c.to_json() for c in self.carried],
                "cmdline": self.words, "done": self.done}


def integrate(host: Host, boot: Mapping[str, Any], *, forced: str | None = None,
              executable: str | None = None) -> Integration:
    """Run the steps of the module docstring for this settings.boot subtree."""
    params = params_from_settings(boot)
    choice = forced or (boot.get("loader") if isinstance(boot.get("loader"), str) else None)
    state = read_state(host)
    if params.empty and choice in (None, "auto") and not (state and state.words):
        # Nothing to carry and nothing carried before: a node booted without a known
        # boot loader (qemu -kernel, a direct-kernel VMM) must not fail for lack of one.
        return Integration(Loader("none", "no kernel or init parameters to carry"),
                           running_release(host), None, [], [])
    loader = detect_loader(host, choice)
    release = running_release(host)
    supported = kernel_bootconfig(host, release)
    carried = assign(params, kernel_bootconfig=bool(supported), loader=loader.kind)
    words = cmdline_tokens(carried) if loader.kind != "none" else []
    result = Integration(loader, release, supported, carried, words)
    if loader.kind == "none":
        return result
    text = render_boot_params(params)
    previous = list(state.words) if state else []
    if loader.kind == "grub":
        from kindling.bootloader.grub import apply_grub
        from kindling.bootloader.initrd import install_hooks, regenerate

        tool = detect_initrd_tool(host)
        if tool.kind != "none":
            if executable is None:
                from kindling.units import kindling_executable

                executable = kindling_executable()
            result.done += install_hooks(host, tool, executable, DATA)
            result.done += regenerate(host, tool, release, text)
        result.done += apply_grub(host, loader, words)
        if loader.entries:
            from kindling.bootloader.bls import apply_bls

            result.done += apply_bls(host, loader, previous, words, None)
    else:
        from kindling.bootloader.bls import apply_bls

        data = write_footer(text, source="settings.boot") if any(
            c.carrier == BOOTCONFIG for c in carried) else None
        result.done += apply_bls(host, loader, previous, words, data)
    new = LoaderState(loader.kind, tuple(words), boot_id(host))
    if state is None or state.loader != new.loader or state.words != new.words:
        host.makedirs(posixpath.dirname(STATE), mode=0o755)
        host.write_file(STATE, json.dumps(new.to_json()) + "\n", mode=0o644)
    return result


def carriers_now(host: Host, boot: Mapping[str, Any]) -> tuple[list[tuple[Carried, bool]], str]:
    """Each wanted parameter, its carrier, and whether the running kernel has it; plus
    the loader kind the comparison assumed (from the recorded state: a parameter the
    boot loader does not carry yet can never be in effect after a reboot)."""
    from kindling.bootconfig.service import running_params

    params = params_from_settings(boot)
    state = read_state(host)
    loader = state.loader if state else "none"
    supported = kernel_bootconfig(host, running_release(host))
    carried = assign(params, kernel_bootconfig=bool(supported), loader=loader)
    cmdline = host.read_optional("/proc/cmdline") or ""
    running = running_params(host)
    written = set(state.words) if state else set()
    out = []
    for c in carried:
        effect = in_effect(c, cmdline, running)
        if not effect and c.carrier != BOOTCONFIG and not written.issuperset(
                cmdline_tokens([c])):
            # the loader has not been given it (integration failed or never ran)
            out.append((Carried(c.key, c.name, c.values, "none",
                                "not yet written to the boot loader"), True))
        else:
            out.append((c, effect))
    return out, loader
