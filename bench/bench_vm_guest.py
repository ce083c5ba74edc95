"""In-guest boot: Kindling's units vs Debian's cloud-init, under real systemd (qemu TCG).

The same Debian 12 guest as tests/vm/test_systemd_node.py boots as an EC2 node against
the same IMDS emulator, once with Kindling's units (TOML user data) and once with
Debian's cloud-init and its Ec2 datasource (equivalent #cloud-config: hostname, DNS,
proxy env, sysctls, motd, the data partition grown). Boots alternate (Kindling,
cloud-init, Kindling, …) so a change in the machine's load hits both alike. Figures,
from PID 1's journal (µs since the kernel started):

- time to `multi-user.target` (what `systemd-analyze time` reports as reached);
- configuration: from the first unit of the suite starting (any `kindling-*` unit;
  `cloud-init-local.service`) to its target being reached (`kindling-configured.target`;
  `cloud-init.target`).

TCG makes every figure many times a real machine's (each Python start costs seconds),
and both suites pay that: the ratio is the figure to read, not the seconds.

    python bench/bench_vm_guest.py [--boots N]     # as root; or `make bench` (section vm)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.report import PairRow  # noqa: E402
from bench.stats import Summary, pair_ratios  # noqa: E402

__all__ = ["SECTION", "GuestTimes", "guest_rows", "measure"]

SECTION = "In-guest boot under systemd: Kindling vs cloud-init (qemu TCG, EC2 node)"
SYSCTLS = {"vm.swappiness": "17", "net.ipv4.tcp_keepalive_time": "321"}
KINDLING_UD = b"""[settings]
motd = "booted by kindling under systemd (bench)"
[settings.network]
hostname = "kindling-bench-node"
https-proxy = "http://10.0.2.2:3128"
no-proxy = ["10.0.2.100", "10.0.2.101", "localhost"]
[settings.dns]
name-servers = ["10.0.2.3"]
search-list = ["vmtest.internal"]
[settings.kernel.sysctl]
"vm.swappiness" = "17"
"net.ipv4.tcp_keepalive_time" = "321"
"""


@dataclass(frozen=True)
class GuestTimes:
    suite: str  # "kindling" | "cloud-init"
    multi_user_s: float
    configured_s: float  # first unit of the suite → its target
    state: str  # systemctl is-system-running at the end
    failed: str = ""  # the failed units when not running (systemctl --failed), one line


def _times(suite: str, sections: dict[str, str]) -> GuestTimes:
    from tests.vm.systemd_guest import unit_spans

    spans = unit_spans(sections.get("journal", ""))
    if suite == "kindling":
        first = min(s.start for u, s in spans.items() if u.startswith("kindling-"))
        target = spans["kindling-configured.target"].end
    else:
        first = spans["cloud-init-local.service"].start
        target = spans["cloud-init.target"].end
    failed = " ".join(line.split()[0] for line in sections.get("failed", "").splitlines()
                      if line.strip() and not line.startswith("===") and "loaded" in line)
    return GuestTimes(suite, spans["multi-user.target"].end / 1e6, (target - first) / 1e6,
                      sections.get("is-system-running", "").strip(), failed)


def measure(boots: int, workdir: Path) -> list[GuestTimes]:
    """Boot `boots` nodes of each suite, alternating; a guest that hangs raises."""
    from tests.vm.rootfs import build_wheel
    from tests.vm.systemd_guest import Node, aws_stand_ins, boot_node, cloud_config

    wheel = build_wheel(REPO, workdir / "wheel")
    out: list[GuestTimes] = []
    for i in range(boots):
        for suite in ("kindling", "cloud-init"):
            cloud = suite == "cloud-init"
            data = cloud_config("kindling-bench-node", SYSCTLS) if cloud else KINDLING_UD
            node = Node(f"bench-{suite}-{i}", "aws", data, cloud_init=cloud, sysctl_keys=tuple(SYSCTLS))
            with aws_stand_ins(data) as (imds, endpoint):
                run = boot_node(node, workdir / node.name, wheel=wheel, imds_port=imds.port,
                                aws_port=int(endpoint.url.rsplit(":", 1)[1]))
            if run.guest.timed_out or "done" not in run.sections:
                kept = run.keep_artifacts()
                raise RuntimeError(f"{node.name}: guest did not finish (artifacts in {kept})")
            times = _times(suite, run.sections)
            print(f"  {node.name}: multi-user {times.multi_user_s:6.1f} s, configured {times.configured_s:6.1f} s, "
                  f"state {times.state}" + (f" (failed: {times.failed})" if times.failed else ""), flush=True)
            out.append(times)
    return out


def guest_rows(boots: int = 3) -> list[PairRow]:
    """The section's rows for bench/run.py (`--only vm`)."""
    from tests.vm.qemu import qemu_available

    reason = qemu_available()
    if reason:
        return [PairRow(SECTION, "in-guest boot", "cloud-init", "Kindling", "s", status=f"not present: {reason}")]
    with tempfile.TemporaryDirectory(prefix="kindling-bench-guest-") as tmp:
        times = measure(boots, Path(tmp))
    rows = []
    for name, attr, note in (
        ("time to multi-user.target (PID 1's journal)", "multi_user_s", ""),
        ("first unit of the suite → kindling-configured.target / cloud-init.target", "configured_s",
         "cloud-init-local.service start vs the first kindling-* unit start"),
    ):
        ci = [getattr(t, attr) for t in times if t.suite == "cloud-init"]
        kd = [getattr(t, attr) for t in times if t.suite == "kindling"]
        states = sorted({f"{t.suite}: {t.state}" + (f" ({t.failed} failed)" if t.failed else "") for t in times})
        rows.append(PairRow(SECTION, name, "cloud-init image", "Kindling image", "s", Summary.of(ci), Summary.of(kd),
                            Summary.of(pair_ratios(ci, kd)),
                            note="; ".join(filter(None, [note, f"{len(kd)} boots each, alternating",
                                                          "end states " + ", ".join(states)]))))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boots", type=int, default=2, help="boots of each suite (default 2)")
    args = parser.parse_args(argv)
    for row in guest_rows(args.boots):
        if row.status:
            print(f"{row.name}: {row.status}")
            continue
        assert row.a and row.b and row.ratio
        print(f"{row.name}\n  cloud-init median {row.a.median:.1f} s, Kindling median {row.b.median:.1f} s, "
              f"Kindling/cloud-init {row.ratio.median:.2f}  ({row.note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
