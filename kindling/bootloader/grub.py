"""The GRUB drop-in `/etc/default/grub.d/90-kindling.cfg`, and regenerating grub.cfg.

grub-mkconfig sources `/etc/default/grub`, then every `/etc/default/grub.d/*.cfg` in
order, and /etc/grub.d/10_linux writes `GRUB_CMDLINE_LINUX` (plus the `_DEFAULT` part
on the normal entries) into every `linux` line. Appending to GRUB_CMDLINE_LINUX keeps
the distribution's own arguments and reaches the recovery entries too (crashkernel=
must be there when a recovery boot panics as well). Words are quoted for the shell
that sources the file: a value can never run a command.

Regeneration runs `grub-mkconfig -o <grub.cfg>` (what Debian's update-grub runs;
`grub2-mkconfig` on Fedora/RHEL). grub-mkconfig builds `<grub.cfg>.new` and renames
it only on success, so on failure grub.cfg is the old one; the drop-in is then put
back as it was, and the error names the step: the boot loader keeps its previous
configuration entirely. Under a root prefix the tool acts on the machine's own /boot,
so it runs only with KINDLING_ACT_ON_KERNEL=1 (kindling/live_kernel.py).
"""

from __future__ import annotations

from kindling.bootloader.detect import Loader
from kindling.bootloader.errors import BootLoaderError
from kindling.errors import CommandError
from kindling.host import Host
from kindling.live_kernel import may_act_on_live_kernel

__all__ = ["DROPIN", "apply_grub", "render_dropin"]

DROPIN = "/etc/default/grub.d/90-kindling.cfg"
_HEADER = ("# Written by Kindling from settings.boot (kindling bootconfig install); do not\n"
           "# edit: the next change of boot settings rewrites it. DESIGN §10.\n")


def _shell_quote(word: str) -> str:
    return "".join("\\" + c if c in '\\"$`' else c for c in word)


def render_dropin(words: list[str]) -> str:
    """The drop-in's text for these kernel command-line words (pure)."""
    line = " ".join(_shell_quote(w) for w in words)
    return f'{_HEADER}GRUB_CMDLINE_LINUX="${{GRUB_CMDLINE_LINUX}} {line}"\n'


def _restore(host: Host, old: str | None) -> None:
    if old is None:
        host.remove(DROPIN)
    else:
        host.write_file(DROPIN, old, mode=0o644)


def apply_grub(host: Host, loader: Loader, words: list[str]) -> list[str]:
    """Write (or remove, with no words) the drop-in and regenerate grub.cfg; what it did."""
    old = host.read_optional(DROPIN)
    text = render_dropin(words) if words else None
    if old == text:
        return []
    if text is None:
        host.remove(DROPIN)
        done = [f"removed {DROPIN}"]
    else:
        host.makedirs("/etc/default/grub.d", mode=0o755)
        host.write_file(DROPIN, text, mode=0o644)
        done = [f"wrote {DROPIN}: {' '.join(words)}"]
    assert loader.grub_cfg is not None and loader.mkconfig is not None
    if not may_act_on_live_kernel(host):
        return [*done, f"root prefix {host.root}: not running {loader.mkconfig} (it reads "
                "this machine's /etc and writes its /boot)"]
    argv = [loader.mkconfig, "-o", str(host.path(loader.grub_cfg))]
    try:
        host.run(argv, timeout=300)
    except CommandError as exc:
        _restore(host, old)
        raise BootLoaderError(
            "regenerate the GRUB configuration",
            f"{' '.join(argv)} failed (exit {exc.returncode}): {_last_line(exc.stderr)}; "
            f"{DROPIN} put back as it was, {loader.grub_cfg} unchanged",
        ) from exc
    return [*done, f"regenerated {loader.grub_cfg} ({loader.mkconfig})"]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"
