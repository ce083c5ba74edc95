"""Build gpu/data/nvidia-open-gpu-devices.json from NVIDIA's open-kernel-module list.

Input: the README.md of NVIDIA/open-gpu-kernel-modules (its "Compatible GPUs" table is
the published list of GPUs the open kernel modules support: the chips whose
supported-gpus.json entry carries the `kernelopen` feature). Output: Bottlerocket's
`open-gpu-supported-devices.json` shape (`{"open-gpu": [{devid, subvendorid?, subdevid?,
name, features}]}`), minus the devices Bottlerocket holds back to the proprietary driver
(kmod-6.1-nvidia.spec), with the T4 typo (`0x1DEB8`) corrected to `0x1EB8`.

    python tools/build_nvidia_open_list.py README.md DRIVER_VERSION COMMIT > \
        gpu/data/nvidia-open-gpu-devices.json
"""

from __future__ import annotations

import json
import re
import sys

# (devid, name, why): Bottlerocket holds these back to the proprietary driver.
EXCLUDED = [
    ("0x1DB1", "Tesla V100-SXM2-16GB", "p3dn; not supported by the open modules (Volta)"),
    ("0x1DB5", "Tesla V100-SXM2-32GB", "p3dn; not supported by the open modules (Volta)"),
    ("0x1EB8", "Tesla T4", "g4dn; Bottlerocket's list has the typo 0x1DEB8"),
    ("0x1EB4", "NVIDIA T4G", "g5g"),
    ("0x2237", "NVIDIA A10G", "g5"),
    ("0x27B8", "NVIDIA L4", "g6"),
    ("0x26B9", "NVIDIA L40S", "g6e"),
]
ROW = re.compile(
    r"^\|\s*(?P<name>.+?)\s*\|\s*(?P<dev>[0-9A-F]{4})"
    r"(?:\s+(?P<sv>[0-9A-F]{4})\s+(?P<sd>[0-9A-F]{4}))?\s*\|\s*$"
)


def main(argv: list[str]) -> int:
    readme, version, commit = argv
    excluded = {dev for dev, _, _ in EXCLUDED}
    entries: list[dict[str, object]] = []
    with open(readme, encoding="utf-8") as fh:
        for line in fh:
            m = ROW.match(line)
            if not m:
                continue
            devid = "0x" + m["dev"]
            if devid in excluded:
                continue
            entry: dict[str, object] = {"devid": devid}
            if m["sv"]:
                entry["subvendorid"] = "0x" + m["sv"]
                entry["subdevid"] = "0x" + m["sd"]
            entry["name"] = m["name"]
            entry["features"] = ["kernelopen"]
            entries.append(entry)
    if not any(e["devid"] == "0x2330" for e in entries):
        sys.stderr.write("H100 0x2330 missing: the README table changed shape\n")
        return 1
    out = [
        "{",
        '  "source": ' + json.dumps({
            "repository": "NVIDIA/open-gpu-kernel-modules",
            "commit": commit,
            "driver": version,
            "file": "README.md (Compatible GPUs)",
        }) + ",",
        '  "excluded": [',
        ",\n".join(
            "    " + json.dumps({"devid": d, "name": n, "why": w}) for d, n, w in EXCLUDED
        ),
        "  ],",
        '  "open-gpu": [',
        ",\n".join("    " + json.dumps(e) for e in entries),
        "  ]",
        "}",
    ]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
