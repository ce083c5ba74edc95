"""netdog's boot stages (band 20-29, DESIGN §4 `boot`), mirroring its units:

- `generate-network-config` (20; `kindling-generate-network-config.service`,
  Before=network-pre.target): net.toml / cmdline → networkd files and primary state.
- `write-network-status` (29; `kindling-write-network-status.service`,
  After=network-online.target): once networkd has configured the primary link, record
  its address as `current_ip`. Inside `kindling boot` the network may still be coming
  up, so the stage waits for an address through `kindling.retry` on the Host clock
  (budget 60 s) instead of failing on the first look.

The direct backend (`kindling netdog apply`) is a separate unit for nodes without
networkd, not a stage: a node runs one backend or the other.
"""



from __future__ import annotations

from kindling.boot import BootContext, Stage, StageResult, ok, skipped
from kindling.errors import HostError

__all__ = ["GENERATE_STAGE", "STATUS_STAGE"]


def _generate(ctx: BootContext) -> StageResult:
    from netdog.generate import generate_net_config

    report = generate_net_config(ctx.host)
    if report.source is None:
        return skipped("no network configuration (no net.toml, no netdog.default-interface=)")
    return ok(f"{ctx.host.did('write', f'{len(report.written)} files')}, {len(report.unchanged)} unchanged, "
              f"primary {report.primary}")


def _status(ctx: BootContext) -> StageResult:
    from netdog import paths
    from netdog.status import netlink_addresses, write_primary_interface_status

    host = ctx.host
    if not (host.exists(paths.PRIMARY_INTERFACE) or host.exists(paths.PRIMARY_MAC_ADDRESS)):
        return skipped("no primary interface recorded")

    def look() -> list[str]:
        return write_primary_interface_status(host, lambda name: netlink_addresses(name, host.netns))

    try:  # the address is there on the first look (a later boot): no retry loop to import
        return ok("; ".join(look()) or "unchanged")
    except HostError as exc:
        failures = [str(exc)]
    from kindling.retry import Retryable, RetryPolicy, retry

    def attempt() -> list[str]:
        if failures:  # the loop's first try is the look above: it waits as it would have
            raise Retryable(failures.pop())
        try:
            return look()
        except HostError as exc:
            raise Retryable(str(exc)) from None

    done = retry(attempt, clock=host.clock, what="primary interface address",
                 policy=RetryPolicy(first=0.1, cap=2.0, budget=60.0, jitter=0.1))
    return ok("; ".join(done) or "unchanged")


GENERATE_STAGE = Stage(
    name="generate-network-config",
    order=20,
    run=_generate,
    unit="kindling-generate-network-config.service",
    description="net.toml / kernel cmdline → systemd-networkd files and primary state",
    outputs=("/etc/systemd/network/10-*.network", "/etc/systemd/network/10-*.netdev",
             "/etc/sysctl.d/90-primary_interface.conf", "/var/lib/kindling/netdog/*"),  # netdog/paths.py
)

STATUS_STAGE = Stage(
    name="write-network-status",
    order=29,
    run=_status,
    after=("generate-network-config",),
    unit="kindling-write-network-status.service",
    per_boot=True,
    description="record the primary interface's address (current_ip) and sysctls",
    outputs=("/var/lib/kindling/netdog/*", "/var/lib/kindling/netdog/leases/*", "/run/kindling/netdog/*"),
)
