"""Boot-loader integration: how settings.boot reaches the kernel on a generic distribution.

Bottlerocket's own GRUB loads bootconfig.data; a Debian or Fedora node's does not.
This package decides which mechanism carries each parameter (`carriers`), finds the
boot loader, the initrd tool and the kernel's bootconfig support (`detect`), and
writes the boot loader's inputs: the GRUB drop-in (`grub`), BLS entries (`bls`), the
initrd footer and the initramfs-tools / dracut hooks (`initrd`); `integrate` runs the
steps in order and records what the loader now carries (`state`). DESIGN §10.
"""
