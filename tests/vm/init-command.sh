#!/bin/sh
# /init of a guest that runs one command against this machine's root (busybox sh): the
# host's / read-only over 9p, the guest's own /proc, /sys, /dev, a tmpfs on /run and
# /tmp, then `chroot /host /bin/sh $CMD_SCRIPT` (from /etc/vmtest.env). A checkout or
# venv under the host's /tmp stays visible through the tmpfs (bind-mounted back), so
# the test works from a clone anywhere. The exit status goes to the console as
# "$MARKER <status>".
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
set -a
. /etc/vmtest.env
set +a
while read -r mod; do
    insmod "$mod" || echo "vmtest: insmod $mod failed"
done < /etc/modules.order
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host \
    || { echo "$MARKER 98"; poweroff -f; }
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mount -t tmpfs -o mode=0755 tmpfs /host/run
mkdir -p /hosttmp && mount --bind /host/tmp /hosttmp
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
for keep in $KEEP_PATHS; do
    case $keep in
    /tmp/*) mkdir -p "/host$keep" && mount --bind "/hosttmp${keep#/tmp}" "/host$keep" ;;
    esac
done
cp /cmd.sh /host/run/vmtest-cmd.sh
chroot /host /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin PYTHONDONTWRITEBYTECODE=1 \
    TMPDIR=/tmp HOME=/tmp /bin/sh /run/vmtest-cmd.sh
echo "$MARKER $?"
sync
poweroff -f
