"""netdog's setting generators (Bottlerocket's `netdog generate-hostname` and
`node-ip`, run by sundog), registered in `kindling.generators`; the work is imported
only when a generator runs.

`network.hostname`: IMDS `local-hostname` (first name; AWS only), then reverse DNS of
the primary address, then the address itself (`netdog.hostname.generate_hostname`).
`kubernetes.node-ip`: the primary interface's address recorded by
write-network-status (`current_ip`).
"""

from __future__ import annotations

from kindling.generators import Generated, Generator
from kindling.host import Host

__all__ = ["HOSTNAME", "NODE_IP"]


def _hostname(host: Host, platform: str) -> Generated:
    from netdog.hostname import HostnameSource, generate_hostname, reverse_dns
    from netdog.status import node_ip

    ip = node_ip(host)
    sources: list[tuple[str, HostnameSource]] = []
    if platform == "aws":
        sources.append(("imds local-hostname", lambda: _imds_local_hostname(host)))
    sources.append(("reverse dns", lambda: reverse_dns(host, ip)))
    return generate_hostname(ip, sources)


def _imds_local_hostname(host: Host) -> str | None:
    """Imported when asked, like every generator's work: a boot whose hostname is not
    generated (no primary address yet) loads none of it. On aws it reads through the
    node's IMDS session, reusing early-boot-config's token (`kindling/imds.py`)."""
    from netdog.imds_hostname import imds_local_hostname

    return imds_local_hostname(host)


def _node_ip(host: Host, platform: str) -> Generated:
    from netdog.status import node_ip

    return node_ip(host), "the primary interface's address"


HOSTNAME = Generator(
    name="netdog-hostname",
    key="network.hostname",
    generate=_hostname,
    sources="IMDS local-hostname on AWS, reverse DNS, the primary IP",
)
NODE_IP = Generator(
    name="netdog-node-ip",
    key="kubernetes.node-ip",
    generate=_node_ip,
    sources="the primary interface's address",
    requires="kubernetes",
)
