#!/bin/sh
# /init of the systemd guest's initramfs (busybox sh): load the virtio and ext4
# drivers, mount the root disk and hand over to systemd. Nothing else: the node's own
# systemd boots the rest, as on a real machine.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r mod; do
    insmod "$mod" || echo "vmtest: insmod $mod failed"
done < /etc/modules.order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
mount -t ext4 -o rw /dev/vda /newroot || { echo "vmtest: FAILED to mount /dev/vda"; poweroff -f; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
