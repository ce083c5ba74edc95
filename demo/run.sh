#!/usr/bin/env bash
# `make demo`: boot Kindling on a copy of the embedded default node.
# As root, the boot runs in a private network namespace with a veth pair named like the
# demo's net.toml (eth0 primary, eth1), so netdog's status step reads real addresses
# without looking at, or touching, this machine's own network. The namespace is removed.
set -euo pipefail
venv=${1:?venv}; root=${2:?demo root}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$root" && cp -a "$here/root" "$root"
ns=kindling-demo-$$
run() { "$@"; }
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
  ip netns add "$ns"
  trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
  ip -n "$ns" link set lo up
  ip -n "$ns" link add eth0 type veth peer name eth1
  ip -n "$ns" addr add 192.0.2.10/24 dev eth0      # TEST-NET-1, inside our namespace only
  ip -n "$ns" addr add 192.168.50.10/24 dev eth1
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set eth1 up
  run() { ip netns exec "$ns" "$@"; }
else
  echo "(not root: booting in this namespace; netdog status needs an eth0 here)"
fi
run "$venv/bin/kindling" boot --root "$root" --platform metal
echo; echo "\$ kindling apiclient --root $root get"
"$venv/bin/kindling" apiclient --root "$root" get
echo; echo "# what took effect on the demo node (files under $root)"
show() { echo "\$ $1"; (cd "$root" && eval "$1") | sed 's/^/  /'; }
show "cat etc/hostname proc/sys/kernel/hostname"
show "cat etc/hosts"
show "cat etc/sysctl.d/90-kindling.conf"
show "grep -H . proc/sys/vm/swappiness proc/sys/vm/max_map_count proc/sys/net/ipv4/ip_forward"
show "cat sys/kernel/security/lockdown; echo"
show "cat etc/modprobe.d/90-kindling.conf"
show "cat etc/chrony/conf.d/90-kindling.conf"
show "ls usr/local/share/ca-certificates/kindling"
if command -v openssl >/dev/null && [ -s "$root/etc/ssl/certs/ca-certificates.crt" ]; then
  show "openssl x509 -noout -subject -in etc/ssl/certs/ca-certificates.crt"
fi
echo; echo "\$ kindling analyze --root $root"
"$venv/bin/kindling" analyze --root "$root"
