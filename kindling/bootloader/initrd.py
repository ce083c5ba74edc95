"""bootconfig.data on the initrd: the footer, the tools' hooks, regeneration.

The kernel finds bootconfig at the very end of the initrd the boot loader loaded
(bootconfig.rst "Attaching a Boot Config to Initrd"), so it must be appended after
the tool compressed its image:
- initramfs-tools: update-initramfs runs `/etc/initramfs/post-update.d/*` with
  (release, initrd) after it moved the new image in place;
- dracut has no hook after the image is written (its modules run while the image is
  still a staging tree), so the same script runs from the kernel's install hooks:
  `/etc/kernel/postinst.d/zz-kindling-bootconfig` (Debian, after its `dracut` hook)
  and `/etc/kernel/install.d/55-kindling-bootconfig.install` (kernel-install, after
  50-dracut), and Kindling appends itself after its own `dracut -f`.
Each hook calls `kindling bootconfig install --initrd FILE --kernel-release KVER`,
which strips an older footer and appends the current one (streamed, atomic).

A footer is attached only for a kernel that parses it (CONFIG_BOOT_CONFIG=y in its
/boot/config-<release>), or when KINDLING_BOOTCONFIG_ATTACH=always: a kernel without
bootconfig does nothing with it (Linux >= 5.7 cuts it off the initrd before unpacking,
as tests/vm/test_vm_bootline.py shows on Debian 12's kernel; older ones report it as
an initramfs unpacking error).
The initrd is regenerated only when its footer differs from bootconfig.data; the
tools write a new image beside the old and rename on success, so a failed build
leaves the old initrd, and the error names the step.
"""

from __future__ import annotations

from importlib import resources

from kindling.bootconfig.footer import split_footer, write_footer
from kindling.bootconfig.model import MAX_TEXT_BYTES
from kindling.bootloader.detect import InitrdTool, kernel_bootconfig
from kindling.bootloader.errors import BootLoaderError
from kindling.errors import CommandError
from kindling.host import Host
from kindling.live_kernel import may_act_on_live_kernel

__all__ = [
    "ATTACH_ENV",
    "HOOKS",
    "attach_footer",
    "footer_text",
    "install_hooks",
    "regenerate",
    "want_attach",
]

ATTACH_ENV = "KINDLING_BOOTCONFIG_ATTACH"
HOOKS = {
    "initramfs-tools": ("/etc/initramfs/post-update.d/kindling-bootconfig",),
    "dracut": ("/etc/kernel/postinst.d/zz-kindling-bootconfig",
               "/etc/kernel/install.d/55-kindling-bootconfig.install"),
}
_TAIL = MAX_TEXT_BYTES + 64


def hook_text(executable: str, data_path: str) -> str:
    text = resources.files("kindling.bootloader").joinpath("hooks/kindling-bootconfig.sh").read_text()
    return text.replace("@KINDLING@", executable).replace("@DATA@", data_path)


def install_hooks(host: Host, tool: InitrdTool, executable: str, data_path: str) -> list[str]:
    """Write the tool's hook scripts (0755); the paths that changed."""
    done = []
    text = hook_text(executable, data_path)
    for path in HOOKS.get(tool.kind, ()):
        host.makedirs(path.rsplit("/", 1)[0], mode=0o755)
        if host.write_file(path, text, mode=0o755):
            done.append(f"wrote {path}")
    return done


def want_attach(host: Host, release: str) -> bool:
    """Attach a footer to this kernel's initrd? (see module docstring)"""
    mode = host.env.get(ATTACH_ENV, "auto")
    if mode == "always":
        return True
    if mode == "never":
        return False
    return kernel_bootconfig(host, release) is True


def footer_text(host: Host, initrd: str) -> tuple[int, str | None]:
    """(bytes before any footer, the footer's bootconfig text or None)."""
    size, tail = host.read_tail(initrd, _TAIL)
    prefix, text = split_footer(tail, source=initrd)
    return size - (len(tail) - len(prefix)), text


def attach_footer(host: Host, initrd: str, text: str) -> bool:
    """Make `text` the initrd's bootconfig footer; False when it already is."""
    keep, current = footer_text(host, initrd)
    if current == text:
        return False
    host.replace_tail(initrd, keep, write_footer(text, offset=keep, source=initrd))
    return True


def _tool_argv(tool: InitrdTool, release: str, initrd: str, host: Host) -> list[str]:
    if tool.kind == "initramfs-tools":
        return ["update-initramfs", "-u", "-k", release]
    return ["dracut", "-f", str(host.path(initrd)), release]


def regenerate(host: Host, tool: InitrdTool, release: str, text: str) -> list[str]:
    """Rebuild the running kernel's initrd with the footer when its footer differs."""
    initrd = tool.initrd_for(release)
    if initrd is None or not release or not want_attach(host, release):
        return []
    if not host.exists(initrd):
        raise BootLoaderError("regenerate the initrd", f"{initrd} does not exist: the "
                              f"{tool.kind} initrd of kernel {release} was not found")
    if footer_text(host, initrd)[1] == text:
        return []
    if not may_act_on_live_kernel(host):
        attach_footer(host, initrd, text)
        return [f"attached bootconfig to {initrd} (root prefix: {tool.program} not run)"]
    argv = _tool_argv(tool, release, initrd, host)
    try:
        host.run(argv, timeout=900)
    except CommandError as exc:
        raise BootLoaderError(
            "regenerate the initrd",
            f"{' '.join(argv)} failed (exit {exc.returncode}): "
            f"{(exc.stderr.strip().splitlines() or ['no message'])[-1][:300]}; "
            f"{initrd} left as it was",
        ) from exc
    attach_footer(host, initrd, text)  # dracut has no hook after writing; a no-op otherwise
    return [f"regenerated {initrd} ({tool.program}) with the bootconfig footer"]
