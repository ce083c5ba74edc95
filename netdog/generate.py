"""`netdog generate-net-config`: the configuration → networkd files and primary state
(Bottlerocket's `cli/generate_net_config.rs`; DESIGN §3, §5).

Everything is parsed, validated and rendered before the first write, so bad input
changes nothing. Writes are idempotent: a second run with the same input rewrites no
file (`Host.write_file` skips identical content) and says so. When the source is the
kernel cmdline, networks also accept router advertisements, solicit DHCPv6 without
one and turn off duplicate address detection, as upstream.
"""

from __future__ import annotations

from kindling.host import Host
from kindling.record import field, record
from netdog import paths
from netdog.model import InterfaceName, MacAddress, NetConfig
from netdog.source import load_net_config
from netdog.sysctl import write_primary_sysctls

__all__ = ["GenerateReport", "generate_net_config", "write_primary_state"]


@record
class GenerateReport:
    source: str | None
    primary: str | None
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def write_primary_state(host: Host, config: NetConfig) -> list[str]:
    """Record the primary interface by name, or by MAC, and drop the other file."""
    primary = config.primary
    keep, drop = (
        (paths.PRIMARY_MAC_ADDRESS, paths.PRIMARY_INTERFACE)
        if isinstance(primary, MacAddress)
        else (paths.PRIMARY_INTERFACE, paths.PRIMARY_MAC_ADDRESS)
    )
    done = [host.did("remove", drop)] if host.remove(drop) else []
    host.makedirs(paths.STATE_DIR, mode=0o700)
    if host.write_file(keep, str(primary), mode=0o644):
        done.append(host.did("write", keep))
    if isinstance(primary, InterfaceName):
        done += write_primary_sysctls(host, str(primary))
    return done


def generate_net_config(host: Host) -> GenerateReport:
    from netdog.render_networkd import NETWORKD_DIR, render_networkd  # not for `apply`'s primary state

    config = load_net_config(host)
    if config is None:
        return GenerateReport(source=None, primary=None)
    files = render_networkd(
        config, accept_ra=config.from_cmdline, disable_dad=config.from_cmdline
    )
    report = GenerateReport(source=config.source, primary=str(config.primary))
    report.written += write_primary_state(host, config)
    host.makedirs(NETWORKD_DIR)
    for path, text in files.items():
        (report.written if host.write_file(path, text) else report.unchanged).append(path)
    return report
