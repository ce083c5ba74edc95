#!/bin/sh
# /init of the Kindling VM test guest (busybox sh). Generic: the scenario is the test's
# guest.sh, read from the host over 9p and run chrooted into the host's root (so the
# checkout, the venv and the host's tools are all there, read-only); its settings come
# from /etc/vmtest.env in this initramfs. Console lines for the test start "vmtest:".
# The same script is /sbin/init of a guest disk that a distribution's initramfs mounts
# as the root (tests/vm/bootline.py): Debian's /init exports rootmnt when it hands
# over, and has moved /proc, /sys and /dev in already.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
[ -e /proc/self ] || mount -t proc proc /proc
[ -d /sys/kernel ] || mount -t sysfs sysfs /sys
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
if [ -n "${rootmnt:-}" ]; then
    echo "vmtest: handed over by an initramfs (rootmnt=$rootmnt); root: $(grep ' / ' /proc/mounts | tail -1)"
    # the root came up read-only (`ro` on the command line), as a real init finds it
    mount -o remount,rw / || echo "vmtest: remount,rw / failed"
fi
set -a  # the scenario (steps, python, checkout) for guest.sh
. /etc/vmtest.env
set +a
# boot: the node's first boot; crash: the kdump kernel after the panic; reboot: the
# node coming back afterwards (the host boots it again with vmtest.phase=reboot).
phase=boot
case " $(cat /proc/cmdline) " in *" vmtest.phase=reboot "*) phase=reboot ;; esac
[ -e /proc/vmcore ] && phase=crash
echo "vmtest: t=$(cut -d' ' -f1 /proc/uptime) init phase=$phase kernel=$(uname -r) cmdline=$(cat /proc/cmdline)"

# The initramfs carries its own kexec and makedumpfile (with their ldd libraries): show
# that they run here, before anything of the host is mounted.
echo "vmtest: initramfs tools: $(kexec --version 2>&1 | head -1); $(makedumpfile -v 2>&1 | head -1)"

while read -r mod; do
    insmod "$mod" || echo "vmtest: insmod $mod failed"
done < /etc/modules.order

finish() {
    sync
    # a disk root: read-only again, so its journal is flushed for the host's debugfs
    [ -n "${rootmnt:-}" ] && { mount -o remount,ro / || echo "vmtest: remount,ro / failed"; }
    echo "vmtest: t=$(cut -d' ' -f1 /proc/uptime) $1"
    if [ "$phase" = crash ]; then reboot -f; else poweroff -f; fi
    sleep 60
}

mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host \
    || finish "FAILED: 9p mount of the host root"
mount -t proc proc /host/proc || echo "vmtest: proc mount failed"
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mount -t tmpfs -o mode=0755 tmpfs /host/run
# Tools such as makedumpfile write to /tmp whatever TMPDIR says: give the guest its
# own, but keep a checkout or venv that lives under the host's /tmp visible.
mkdir -p /hosttmp && mount --bind /host/tmp /hosttmp
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
for keep in "$REPO" "$VENV"; do
    case $keep in
    /tmp/*) mkdir -p "/host$keep" && mount --bind "/hosttmp${keep#/tmp}" "/host$keep" ;;
    esac
done

# Partitions of virtio disks appear asynchronously after insmod: wait (bounded).
i=0
while [ ! -b "${VMTEST_DISK:-/dev/vda1}" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

chroot /host /bin/sh "$VMTEST_GUEST" "$phase"
finish "guest.sh exit $? phase=$phase"
