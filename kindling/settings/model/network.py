"""`settings.network.*`: hostname, /etc/hosts entries, proxy."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, Struct

MODEL = Struct(
    {
        "hostname": Leaf(t.hostname, owner=("applier:hostname", "applier:hosts"), doc="the node's hostname",
                         default="generated at boot: IMDS local hostname (aws), else reverse DNS, else the address"),
        "hosts": Leaf(t.etc_hosts_entries, kind="json", owner="applier:hosts",
                      doc="[[address, [names]], …] for /etc/hosts; repeated addresses merge"),
        "https-proxy": Leaf(t.url, owner="applier:netdog-proxy", doc="HTTPS proxy for node services"),
        "no-proxy": ListOf(Leaf(t.no_proxy_entry), owner="applier:netdog-proxy", doc="hosts not proxied"),
    }
)
