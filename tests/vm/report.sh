#!/bin/sh
# The systemd guest's report (vmtest-report.service, test-only): once the boot has
# settled, write what the host asserts to the second serial port (/dev/ttyS1: output on
# ttyS0 is lost once a getty takes the console, RIGS.md), then power off. Sections are
# `=== NAME` lines followed by the command's output; the host parses them.
# Settings: /etc/vmtest/report.env (WAIT_UNITS: units whose end the report waits for;
# SYSCTL_KEYS: kernel settings to read back). Every command costs seconds under
# emulation: unit start/end times come from PID 1's journal in one call.
exec >/dev/ttyS1 2>&1
set -a
. /etc/vmtest/report.env
set +a
section() { echo "=== $1"; shift; "$@"; echo "=== end rc=$?"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

echo "=== start t=$(uptime_s)"
state=$(timeout 900 systemctl is-system-running --wait)
echo "=== settled t=$(uptime_s) state=$state"
# cfsignal and lifecycle-complete are Type=simple: their work ends after the boot job.
# Wait while the unit still runs (SubState running/start*), not while it is "active": a
# oneshot with RemainAfterExit (cloud-final) stays active, exited, for good.
running() { case "$(systemctl show -P SubState "$1")" in running|start*) return 0 ;; *) return 1 ;; esac; }
for unit in $WAIT_UNITS; do
    i=0
    while [ $i -lt 600 ] && running "$unit"; do sleep 0.5; i=$((i + 1)); done
done
echo "=== waited t=$(uptime_s)"
section is-system-running systemctl is-system-running
section failed systemctl --failed --no-legend --plain
section analyze systemd-analyze time
section blame systemd-analyze blame --no-pager
section critical-chain systemd-analyze critical-chain --no-pager
section journal journalctl -b -o json --no-pager _PID=1
section kindling-log journalctl -b --no-pager -o short-monotonic -u 'kindling-*' -u 'cloud-*'
section hostname hostname
# /proc/sys directly: the guest's minimal root has no procps (sysctl)
section sysctl sh -c 'for k in $SYSCTL_KEYS; do printf "%s = %s\n" "$k" "$(cat "/proc/sys/$(echo "$k" | tr . /)")"; done'
section resolvectl resolvectl status --no-pager
section networkctl networkctl status --no-pager eth0
section routes ip -4 route
section addresses ip -4 -o addr
section proxy-env cat /etc/network/proxy.env
section lsblk lsblk -b -o NAME,SIZE,PARTLABEL,FSTYPE
section df-data sh -c 'mkdir -p /mnt/data && mount /dev/disk/by-partlabel/KINDLING-DATA /mnt/data && df -B1 --output=size /mnt/data | tail -1; umount /mnt/data'
echo "=== done t=$(uptime_s)"
sync
systemctl poweroff
