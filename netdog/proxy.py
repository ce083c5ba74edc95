"""The proxy applier: `settings.network.{https-proxy,no-proxy}` and
`settings.kubernetes.{api-server,cluster-domain}` → `/etc/network/proxy.env`
(Bottlerocket's `proxy-env` template, read by containerd, kubelet and host containers).

Kept line for line: `HTTPS_PROXY`/`https_proxy` only when a proxy is set;
`NO_PROXY`/`no_proxy` always, as the no-proxy entries, then `localhost,127.0.0.1`,
then the API server's host, then `.<cluster-domain>`. Deviation: an API server given
without a scheme (`api.example.com:6443`, which the settings model accepts) is read
as `https://…` for its host, where upstream's template failed to render.
The file is written 0600: a proxy URL may carry credentials.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kindling.errors import InputError
from kindling.host import Host
from kindling.settings.types import Invalid, no_proxy_entry
from netdog import paths

PROXY_SOURCE = "proxy.env"

__all__ = ["apply_proxy", "render_proxy_env", "url_host"]


def url_host(url: str) -> str:
    """The host part of a URL (IPv6 keeps its brackets, as the `url` crate's host_str)."""
    netloc = urlsplit(url if "://" in url else "https://" + url).netloc
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        return hostport[: hostport.find("]") + 1]
    return hostport.partition(":")[0].lower()


def _entry(index: int, value: Any) -> str:
    """The model's own check again at the writer: a datastore from elsewhere (or an
    older Kindling) must not put blanks or `$(…)` into a file shells read."""
    try:
        return no_proxy_entry(value)
    except Invalid as exc:
        raise InputError(f"settings.network.no-proxy[{index}]: {exc.rule}", source=PROXY_SOURCE) from None


def render_proxy_env(settings: dict[str, Any]) -> str:
    network = settings.get("network") or {}
    k8s = settings.get("kubernetes") or {}
    proxy = network.get("https-proxy")
    no_proxy = [_entry(i, x) for i, x in enumerate(network.get("no-proxy") or [])]
    tail = "localhost,127.0.0.1"
    if k8s.get("api-server"):
        tail += "," + url_host(str(k8s["api-server"]))
    if k8s.get("cluster-domain"):
        tail += ",." + str(k8s["cluster-domain"])
    value = "".join(f"{x}," for x in no_proxy) + tail
    out = ""
    if proxy:
        out += f"HTTPS_PROXY={proxy}\nhttps_proxy={proxy}\n"
    out += f"NO_PROXY={value}\nno_proxy={value}\n"
    return out


def apply_proxy(host: Host, settings: dict[str, Any]) -> list[str]:
    text = render_proxy_env(settings)
    changed = host.write_file(paths.PROXY_ENV, text, mode=0o600)
    return [host.did("write", paths.PROXY_ENV)] if changed else []
