"""Boot Loader Specification entries: systemd-boot, and GRUB with GRUB_ENABLE_BLSCFG.

Each `loader/entries/*.conf` has `options` lines (joined with spaces into the kernel
command line) and `initrd` lines (loaded in order, one after the other in memory).
Kindling keeps the words it added last time (state.py) and replaces exactly those,
so the entry's own options and a user's edits survive; `/etc/kernel/cmdline`, which
kernel-install copies into entries of newly installed kernels, gets the same words
when it exists. On systemd-boot a footer needs no initrd rebuild: bootconfig.data is
copied to `<ESP>/kindling/bootconfig.data` and named as the entry's last `initrd`,
so it ends the loaded initrd, where the kernel looks for it.
"""

from __future__ import annotations

from kindling.bootloader.detect import Loader
from kindling.bootloader.errors import BootLoaderError
from kindling.errors import HostError
from kindling.host import Host

__all__ = ["BLS_DATA", "KERNEL_CMDLINE", "apply_bls", "edit_entry", "edit_words"]

BLS_DATA = "/kindling/bootconfig.data"
KERNEL_CMDLINE = "/etc/kernel/cmdline"


def edit_words(words: list[str], previous: list[str], wanted: list[str]) -> list[str]:
    """`words` without the ones Kindling added before, then the wanted ones (pure)."""
    kept = list(words)
    for word in previous:
        if word in kept:
            kept.remove(word)
    return kept + [w for w in wanted if w not in kept]


def edit_entry(text: str, previous: list[str], wanted: list[str], initrd: str | None) -> str:
    """One entry with its options edited and, when `initrd`, that initrd named last (pure)."""
    lines = text.splitlines()
    option_lines = [i for i, line in enumerate(lines) if line.split(None, 1)[:1] == ["options"]]
    words = [w for i in option_lines for w in lines[i].split()[1:]]
    new_words = edit_words(words, previous, wanted)
    out = [line for i, line in enumerate(lines) if i not in option_lines
           and line.split()[:2] != ["initrd", BLS_DATA]]
    if new_words:
        out.append("options " + " ".join(new_words))
    if initrd is not None:
        out.append(f"initrd {initrd}")
    return "\n".join(out) + "\n"


def apply_bls(host: Host, loader: Loader, previous: list[str], wanted: list[str],
              data: bytes | None) -> list[str]:
    """Edit every entry (and /etc/kernel/cmdline); what changed."""
    assert loader.entries is not None
    done: list[str] = []
    initrd = None
    try:
        if loader.kind == "systemd-boot" and data is not None and loader.esp is not None:
            target = loader.esp.rstrip("/") + BLS_DATA
            host.makedirs(target.rsplit("/", 1)[0], mode=0o755)
            if host.write_file(target, data, mode=0o644):
                done.append(f"wrote {target}")
            initrd = BLS_DATA
        for name in sorted(host.listdir(loader.entries)):
            if not name.endswith(".conf"):
                continue
            path = f"{loader.entries}/{name}"
            text = host.read_text(path, limit=1 << 20)
            if host.write_file(path, edit_entry(text, previous, wanted, initrd), mode=0o644):
                done.append(f"edited {path}")
        current = host.read_optional(KERNEL_CMDLINE)
        if current is not None:
            line = " ".join(edit_words(current.split(), previous, wanted)) + "\n"
            if host.write_file(KERNEL_CMDLINE, line, mode=0o644):
                done.append(f"edited {KERNEL_CMDLINE}")
    except HostError as exc:
        raise BootLoaderError("update the BLS entries", f"{exc}; entries already written "
                              f"keep the new options: {', '.join(done) or 'none'}") from exc
    return done
