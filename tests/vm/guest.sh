#!/bin/sh
# The VM test's scenario, run by the guest's /init chrooted into the host's root (9p,
# read-only) as `sh guest.sh boot|crash|reboot`. Kindling runs from the host's checkout and
# venv (PY, REPO) against the guest disk mounted at $R, given as --root, with the
# guest's own /proc, /sys and /dev bound beneath it as on a real root. Each step's
# stdout, stderr and exit code are saved on the guest disk under /var/lib/vmtest/PHASE/
# for the host to read from the image afterwards; the console gets a short echo.
set -u
phase=$1
# PY, REPO, BOOT_STEPS, CRASH_STEPS, REBOOT_STEPS, PANIC (and PLATFORM, default vmware;
# VMTEST_DISK, default /dev/vda1):
# exported by /init from /etc/vmtest.env.
export PYTHONPATH="$REPO" PYTHONDONTWRITEBYTECODE=1 TMPDIR=/run HOME=/run
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
R=/run/vmdisk

mkdir -p $R
DISK=${VMTEST_DISK:-/dev/vda1}  # a bare disk when it is also the guest's root (bootline.py)
mount -t ext4 "$DISK" $R || { echo "vmtest: FAILED to mount $DISK"; exit 1; }
for d in proc sys dev; do mkdir -p $R/$d; mount --bind /$d $R/$d; done
mkdir -p $R/run && mount -t tmpfs -o mode=0755 tmpfs $R/run
OUT=$R/var/lib/vmtest/$phase
mkdir -p "$OUT"

kindling() {
    "$PY" -c 'import sys; from kindling.cli import main; sys.exit(main())' "$@"
}

uptime() { cut -d' ' -f1 /proc/uptime; }

step() {
    name=$1; shift
    echo "vmtest: t=$(uptime) step $name: $*"
    "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    rc=$?
    echo $rc >"$OUT/$name.rc"
    echo "vmtest: t=$(uptime) step $name rc=$rc"
    head -c 3000 "$OUT/$name.out" "$OUT/$name.err" | sed 's/^/  | /'
    return $rc
}

record() {  # name file: copy a kernel fact into the outputs
    cat "$2" >"$OUT/$1" 2>/dev/null || echo "absent" >"$OUT/$1"
}

finish() {
    cd /
    sync
    umount $R/run $R/dev $R/sys $R/proc
    umount $R || { echo "vmtest: umount $R failed"; mount -o remount,ro $R; }
    sync
}

if [ "$phase" = boot ]; then
    df -k $R | tail -1 >"$OUT/df_before"
    for s in $BOOT_STEPS; do
        case $s in
        boot) step boot kindling boot --platform "${PLATFORM:-vmware}" --root $R --json ;;
        early-boot-config) step early-boot-config kindling early-boot-config --platform vmware --root $R ;;
        growpart) step growpart kindling growpart --root $R --json ;;
        kdump-plan) step kdump-plan kindling kdump plan --root $R --json ;;
        kdump-load) step kdump-load kindling kdump load --root $R ;;
        kdump-status) step kdump-status kindling kdump status --root $R --json ;;
        esac
    done
    df -k $R | tail -1 >"$OUT/df_after"
    record kexec_crash_loaded /sys/kernel/kexec_crash_loaded
    record kexec_crash_size /sys/kernel/kexec_crash_size
    record cmdline /proc/cmdline
    record bootconfig /proc/bootconfig
    dmesg >"$OUT/dmesg" 2>&1
    grep -i "crash kernel" /proc/iomem >"$OUT/iomem_crash" 2>/dev/null
    echo "vmtest: kexec_crash_loaded=$(cat $OUT/kexec_crash_loaded)"
    if [ "$PANIC" = 1 ] && [ "$(cat $OUT/kexec_crash_loaded)" = 1 ]; then
        echo "vmtest: t=$(uptime) panicking"
        sync
        # The data must be on the disk before the kernel dies: the crash kernel
        # replays the journal, but only of what reached the disk.
        mount -o remount,ro $R 2>/dev/null
        sync
        echo c >/proc/sysrq-trigger
        sleep 30
        echo "vmtest: FAILED: still alive after the panic"
    fi
    finish
elif [ "$phase" = reboot ]; then
    for s in $REBOOT_STEPS; do
        case $s in
        boot) step boot kindling boot --platform vmware --root $R --json ;;
        kdump-status) step kdump-status kindling kdump status --root $R --json ;;
        esac
    done
    record kexec_crash_loaded /sys/kernel/kexec_crash_loaded
    finish
else
    record cmdline /proc/cmdline
    for s in $CRASH_STEPS; do
        case $s in
        kdump-capture) step kdump-capture kindling kdump capture --root $R --json ;;
        kdump-status) step kdump-status kindling kdump status --root $R --json ;;
        esac
    done
    finish
fi
exit 0
