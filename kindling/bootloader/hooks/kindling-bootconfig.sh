#!/bin/sh
# Kindling: attach /var/lib/kindling/bootconfig.data (settings.boot) to an initrd
# the distribution's tool just built, as the kernel's bootconfig footer.
# Installed by `kindling bootconfig install` as
#   /etc/initramfs/post-update.d/kindling-bootconfig   (initramfs-tools: KVER INITRD)
#   /etc/kernel/postinst.d/zz-kindling-bootconfig      (dracut on Debian: KVER IMAGE)
#   /etc/kernel/install.d/55-kindling-bootconfig.install (kernel-install: add KVER DIR IMAGE)
# Do not edit: `kindling bootconfig install` rewrites it.
set -e
KINDLING='@KINDLING@'
DATA='@DATA@'
[ -e "$DATA" ] || exit 0
attach() {
	[ -f "$2" ] || return 0
	"$KINDLING" bootconfig install --initrd "$2" --kernel-release "$1"
}
case "$(basename "$0")" in
*.install)
	[ "$1" = add ] || exit 0
	attach "$2" "$3/initrd"
	attach "$2" "/boot/initramfs-$2.img"
	;;
zz-kindling-bootconfig)
	attach "$1" "/boot/initramfs-$1.img"
	attach "$1" "/boot/initrd.img-$1"
	;;
*)
	attach "$1" "$2"
	;;
esac
