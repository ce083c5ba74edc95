#!/bin/sh
# Real-GPU check (not part of the test command): run as root on a machine with a real
# NVIDIA GPU and its driver loaded. Checks `kindling gpu detect --json`, `match-driver`
# and `inventory --json` against each other, the shipped open-module list and
# nvidia-smi (NVML's name, UUID, memory, driver version). Prints what it saw; exit 0
# when every check passed, 1 otherwise.
#   usage: tests/gpu/real_gpu.sh [KINDLING]      (default: kindling on PATH)
set -u
KINDLING=${1:-kindling}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
OPEN_LIST="$HERE/gpu/data/nvidia-open-gpu-devices.json"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() {  # description, then a command that must succeed
	what=$1; shift
	if "$@"; then echo "ok:   $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

"$KINDLING" gpu detect --json >"$TMP/detect.json" || { echo "FAIL: kindling gpu detect"; exit 1; }
"$KINDLING" gpu inventory --json >"$TMP/inventory.json" || { echo "FAIL: kindling gpu inventory"; exit 1; }
echo "== detect"; cat "$TMP/detect.json"; echo; echo "== inventory"; cat "$TMP/inventory.json"; echo

flavor=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nvidia_flavor"] or "")' "$TMP/detect.json")
check "detect: an NVIDIA GPU and a flavour" test -n "$flavor"
for f in open proprietary; do
	if [ "$f" = "$flavor" ]; then
		check "match-driver $f exits 0" "$KINDLING" gpu match-driver "$f"
	else
		check "match-driver $f exits 1" sh -c "! '$KINDLING' gpu match-driver $f"
	fi
done

# Device ids against the shipped open list: auto means open iff every GPU is listed.
check "flavour follows the open list" python3 - "$TMP/detect.json" "$OPEN_LIST" <<'PY'
import json, sys
det = json.load(open(sys.argv[1]))
listed = {int(e["devid"], 16) for e in json.load(open(sys.argv[2]))["open-gpu"]}
ids = [int(d["device"], 16) for d in det["devices"] if d["kind"] == "nvidia"]
for i in ids:
    print(f"  device 0x{i:04x}: {'in' if i in listed else 'not in'} the open list")
if det["flavor_setting"] != "auto":
    sys.exit(0)
sys.exit(0 if (det["nvidia_flavor"] == "open") == all(i in listed for i in ids) else 1)
PY

if command -v nvidia-smi >/dev/null 2>&1; then
	nvidia-smi --query-gpu=name,uuid,memory.total,driver_version --format=csv,noheader,nounits >"$TMP/smi.csv"
	check "NVML (inventory) agrees with nvidia-smi: name, UUID, memory, driver version" \
		python3 - "$TMP/inventory.json" "$TMP/smi.csv" "$TMP/detect.json" <<'PY'
import csv, json, sys
inv = json.load(open(sys.argv[1]))
rows = [[c.strip() for c in r] for r in csv.reader(open(sys.argv[2])) if r]
det = json.load(open(sys.argv[3]))
ok = inv["available"] and len(inv["gpus"]) == len(rows) == len(
    [d for d in det["devices"] if d["kind"] == "nvidia"])
for gpu, (name, uuid, mem_mib, driver) in zip(inv["gpus"], rows):
    print(f"  {gpu['name']} {gpu['uuid']} {gpu['memory_total_bytes']} B, driver {inv['driver_version']}")
    ok = ok and gpu["name"] == name and gpu["uuid"] == uuid and inv["driver_version"] == driver
    ok = ok and gpu["memory_total_bytes"] == int(mem_mib) * 1024 * 1024
sys.exit(0 if ok else 1)
PY
else
	check "inventory: NVML available" python3 -c \
		'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["available"] else 1)' "$TMP/inventory.json"
	echo "note: nvidia-smi not installed: name/UUID/memory not cross-checked"
fi
echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
