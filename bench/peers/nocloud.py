"""Translate Kindling's inputs (a root's user data, defaults and net.toml) into a
cloud-init NoCloud seed carrying the same settings and network config.

Pure: TOML text in, seed file texts out. The mapping uses the nearest thing cloud-init
has for each setting — `hostname` for `network.hostname`, `write_files` for the files
Kindling's appliers render (`/etc/motd`, proxy env, sysctl drop-in) — and carries the
settings cloud-init has no module for (kubernetes, kdump, gpu, lockdown…) as a JSON
file, so both sides read and write the same amount of input. JSON is valid YAML, so no
YAML emitter is needed. net.toml v2/v3 becomes network-config v2 (netplan schema).
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from kindling.merge import merge

__all__ = ["bootconfig_settings", "net_toml_to_v2", "nocloud_seed", "settings_from_inputs"]


def settings_from_inputs(*user_data: str) -> dict[str, Any]:
    """The merged `settings` tree of TOML user-data documents, later wins per leaf."""
    tree: dict[str, Any] = {}
    for text in user_data:
        doc = tomllib.loads(text)
        tree = merge(tree, doc.get("settings", {}))
    return tree


def bootconfig_settings(text: str) -> dict[str, Any]:
    """`kindling.settings.a.b = "v"` lines of a /proc/bootconfig, as a settings tree
    (plain quoted values only: enough for the demo inputs; the real parser is Kindling's)."""
    tree: dict[str, Any] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.startswith("kindling.settings."):
            continue
        *parents, leaf = key.removeprefix("kindling.settings.").split(".")
        node = tree
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value.strip().strip('"')
    return tree


def _dhcp(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value.get("enabled", False))
    return bool(value)


def _addresses(value: Any) -> list[str]:
    """net.toml v2/v3 `static4 = { addresses = [...] }` (also a bare list)."""
    if isinstance(value, dict):
        return list(value.get("addresses", []))
    return list(value or [])


def net_toml_to_v2(text: str) -> dict[str, Any]:
    doc = tomllib.loads(text)
    ethernets: dict[str, Any] = {}
    for name, conf in doc.items():
        if name == "version" or not isinstance(conf, dict):
            continue
        eth: dict[str, Any] = {}
        if "dhcp4" in conf:
            eth["dhcp4"] = _dhcp(conf["dhcp4"])
        if "dhcp6" in conf:
            eth["dhcp6"] = _dhcp(conf["dhcp6"])
        addresses = [*_addresses(conf.get("static4")), *_addresses(conf.get("static6"))]
        if addresses:
            eth["addresses"] = addresses
        routes = [{"to": r["to"], "via": r["via"]} for r in conf.get("route", []) if "to" in r and "via" in r]
        if routes:
            eth["routes"] = routes
        ethernets[name] = eth
    return {"version": 2, "ethernets": ethernets}


def nocloud_seed(settings: dict[str, Any], net_toml: str | None, instance_id: str = "kindling-bench") -> dict[str, str]:
    """{file name in the seed dir: text} for meta-data, user-data, network-config."""
    network = settings.get("network", {})
    hostname = network.get("hostname", "localhost")
    files: list[dict[str, Any]] = []
    if "motd" in settings:
        files.append({"path": "/etc/motd", "content": settings["motd"] + "\n"})
    proxy = []
    if "https-proxy" in network:
        proxy += [f"HTTPS_PROXY={network['https-proxy']}", f"https_proxy={network['https-proxy']}"]
    if "no-proxy" in network:
        no = ",".join(network["no-proxy"])
        proxy += [f"NO_PROXY={no}", f"no_proxy={no}"]
    if proxy:
        files.append({"path": "/etc/network/proxy.env", "content": "\n".join(proxy) + "\n"})
    sysctl = settings.get("kernel", {}).get("sysctl", {})
    if sysctl:
        body = "".join(f"{k} = {v}\n" for k, v in sysctl.items())
        files.append({"path": "/etc/sysctl.d/90-kindling.conf", "content": body})
    files.append(
        {"path": "/etc/kindling-bench/settings.json", "content": json.dumps(settings), "permissions": "0600"}
    )
    user_data = {"hostname": hostname, "preserve_hostname": False, "write_files": files}
    seed = {
        "meta-data": json.dumps({"instance-id": instance_id, "local-hostname": hostname}) + "\n",
        "user-data": "#cloud-config\n" + json.dumps(user_data, indent=1) + "\n",
    }
    if net_toml is not None:
        seed["network-config"] = json.dumps(net_toml_to_v2(net_toml), indent=1) + "\n"
    return seed
