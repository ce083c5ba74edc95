"""Find the boot loader, the initrd tool and the kernel's bootconfig support (Host reads only).

Boot loader, in this order (or `settings.boot.loader` / `--loader` when set):
1. systemd-boot when the firmware variable LoaderInfo (written by systemd-boot at
   every boot) names it;
2. GRUB when its generated configuration exists: `/boot/grub/grub.cfg` (Debian,
   Ubuntu: `grub-mkconfig`, which update-grub runs) or `/boot/grub2/grub.cfg` (Fedora,
   RHEL: `grub2-mkconfig`); with `/boot/loader/entries` beside it (Fedora's
   GRUB_ENABLE_BLSCFG) the BLS entries carry the options too;
3. systemd-boot when an ESP (`/efi`, `/boot/efi`, `/boot`) holds `loader/loader.conf`;
4. `none` when the root has no `/boot` at all (containers, image trees): nothing to
   integrate, bootconfig.data only;
otherwise the loader cannot be identified, and that is an error naming the paths
looked at: guessing would write a configuration nothing reads.

Kernel support: `/boot/config-<release>` (or /proc/config.gz) with
`CONFIG_BOOT_CONFIG=y`. Unknown counts as unsupported, which puts every kernel
parameter on the command line, where any kernel reads it.
"""

from __future__ import annotations

from kindling.bootloader.errors import BootLoaderError
from kindling.host import Host
from kindling.record import record

__all__ = [
    "LOADERS",
    "InitrdTool",
    "Loader",
    "detect_initrd_tool",
    "detect_loader",
    "kernel_bootconfig",
    "running_release",
]

LOADERS = ("auto", "grub", "systemd-boot", "none")
LOADER_INFO = "/sys/firmware/efi/efivars/LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
GRUB_CFGS = (("/boot/grub/grub.cfg", "grub-mkconfig"), ("/boot/grub2/grub.cfg", "grub2-mkconfig"))
ESPS = ("/efi", "/boot/efi", "/boot")
BLS_GRUB_ENTRIES = "/boot/loader/entries"


@record(frozen=True)
class Loader:
    kind: str  # grub | systemd-boot | none
    why: str
    grub_cfg: str | None = None
    mkconfig: str | None = None  # grub-mkconfig | grub2-mkconfig
    entries: str | None = None  # BLS entries directory (systemd-boot, or GRUB with BLSCFG)
    esp: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "why": self.why, "grub_cfg": self.grub_cfg,
                "entries": self.entries}


def _grub(host: Host) -> Loader | None:
    for cfg, tool in GRUB_CFGS:
        if host.exists(cfg):
            entries = BLS_GRUB_ENTRIES if host.listdir(BLS_GRUB_ENTRIES) else None
            return Loader("grub", f"{cfg} exists", cfg, tool, entries)
    return None


def _esp(host: Host) -> str | None:
    return next((e for e in ESPS if host.exists(f"{e}/loader/loader.conf")
                 or host.exists(f"{e}/loader/entries")), None)


def _sdboot(host: Host, why: str) -> Loader:
    esp = _esp(host)
    if esp is None:
        raise BootLoaderError("identify", "systemd-boot: no ESP with loader/ found in "
                              + ", ".join(ESPS))
    return Loader("systemd-boot", why, entries=f"{esp}/loader/entries", esp=esp)


def detect_loader(host: Host, forced: str | None = None) -> Loader:
    """The boot loader to integrate with (see module docstring); raises when unknown."""
    if forced not in (None, "auto"):
        if forced == "none":
            return Loader("none", "settings.boot.loader = none")
        if forced == "grub":
            grub = _grub(host)
            if grub is None:
                raise BootLoaderError("identify", "grub: neither " + " nor ".join(
                    c for c, _ in GRUB_CFGS) + " exists")
            return grub
        if forced == "systemd-boot":
            return _sdboot(host, "settings.boot.loader = systemd-boot")
        raise BootLoaderError("identify", "boot loader must be one of " + ", ".join(LOADERS))
    info = host.read_optional(LOADER_INFO) if host.exists(LOADER_INFO) else None
    if info is not None and "systemd-boot" in info.replace("\0", ""):
        return _sdboot(host, "EFI variable LoaderInfo names systemd-boot")
    grub = _grub(host)
    if grub is not None:
        return grub
    esp = _esp(host)
    if esp is not None:
        return _sdboot(host, f"{esp}/loader exists")
    if not host.path("/boot").is_dir():
        return Loader("none", "no /boot under the root (nothing boots from it)")
    looked = [c for c, _ in GRUB_CFGS] + [f"{e}/loader" for e in ESPS]
    raise BootLoaderError("identify", "cannot identify the boot loader (looked for "
                          + ", ".join(looked) + "); set settings.boot.loader to grub, "
                          "systemd-boot or none")


@record(frozen=True)
class InitrdTool:
    kind: str  # initramfs-tools | dracut | none
    program: str | None
    pattern: str | None  # /boot file name for a release: {kver}

    def initrd_for(self, release: str) -> str | None:
        return self.pattern.format(kver=release) if self.pattern else None


def detect_initrd_tool(host: Host) -> InitrdTool:
    """initramfs-tools (Debian, Ubuntu) or dracut (Fedora, RHEL, SUSE), by their programs."""
    if host.exists("/usr/sbin/update-initramfs"):
        return InitrdTool("initramfs-tools", "update-initramfs", "/boot/initrd.img-{kver}")
    for path in ("/usr/bin/dracut", "/usr/sbin/dracut"):
        if host.exists(path):
            return InitrdTool("dracut", "dracut", "/boot/initramfs-{kver}.img")
    return InitrdTool("none", None, None)


def running_release(host: Host) -> str:
    """The running kernel's release (`uname -r`), read through the Host."""
    text = host.read_optional("/proc/sys/kernel/osrelease")
    if text is None and not host.prefixed:
        import platform

        text = platform.release()
    return (text or "").strip()


def kernel_bootconfig(host: Host, release: str) -> bool | None:
    """CONFIG_BOOT_CONFIG of that kernel: True, False, or None when no config is found."""
    if host.exists("/proc/bootconfig"):
        return True
    text = host.read_optional(f"/boot/config-{release}") if release else None
    if text is None and host.exists("/proc/config.gz"):
        import gzip  # most kernels have /boot/config-<release> or /proc/bootconfig

        try:
            text = gzip.decompress(host.read_bytes("/proc/config.gz", limit=4 << 20)).decode(
                "utf-8", "replace")
        except OSError:
            text = None
    if text is None:
        return None
    return "\nCONFIG_BOOT_CONFIG=y" in "\n" + text
