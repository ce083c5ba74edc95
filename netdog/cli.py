"""`kindling netdog …` — wiring only (STYLE): parse arguments, build the Host, call the
module that does the job, print. Subcommands keep Bottlerocket's names (DESIGN §4)."""



from __future__ import annotations

import json
import sys

from kindling import log
from kindling.errors import UsageError

TYPE_CHECKING = False  # typing (~2 ms) and argparse (~4 ms with its parser) only when needed
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from kindling.host import Host
    from netdog.resolv import DnsSettings

__all__ = ["ApplyOptions", "build_parser", "main", "quick_apply"]

_log = log.get("netdog")


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from kindling.cli_common import Formatter, add_common

    class _Parser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", Formatter)  # no shutil import (cli_common)
            super().__init__(*args, **kwargs)

        def error(self, message: str) -> Any:  # argparse exits 2 itself; route through UsageError
            raise UsageError(message)

    p = _Parser(prog="kindling netdog", description=(
        "Network configuration at boot: net.toml or the kernel command line to systemd-networkd "
        "files or a direct netlink apply with DHCPv4, the hostname, DNS and the primary address."))
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    s = sub.add_parser("generate-net-config", help="net.toml / cmdline → networkd files")
    add_common(s)
    s = sub.add_parser("validate", help="check a net.toml (default: the one in effect)")
    s.add_argument("file", nargs="?", help="the net.toml to check (a path under --root)")
    add_common(s, acts=False)
    s = sub.add_parser("write-primary-interface-status", help="record the primary address")
    s.add_argument("--networkctl-json", metavar="FILE",
                   help="read addresses from a `networkctl status --json` capture")
    add_common(s)
    s = sub.add_parser("node-ip", help="print the primary address as JSON")
    add_common(s, acts=False)
    s = sub.add_parser("generate-hostname", help="print the hostname to use as JSON")
    s.add_argument("--platform", default="auto", choices=("auto", "aws", "vmware", "metal"),
                   help="where to ask for a name: aws asks IMDS (default: the detected platform)")
    s.add_argument("--no-reverse-dns", action="store_true",
                   help="do not look the primary address up in DNS")
    add_common(s, acts=False)
    s = sub.add_parser("set-hostname", help="set the kernel hostname")
    s.add_argument("hostname", help="the name to set (a Linux hostname of at most 64 bytes)")
    add_common(s)
    s = sub.add_parser("write-resolv-conf", help="DNS settings → networkd/resolved drop-ins")
    s.add_argument("--netdog-toml", metavar="FILE",
                   help="read DNS from a Bottlerocket netdog.toml (a path under --root) "
                   "instead of the settings")
    s.add_argument("--no-reload", action="store_true", help="do not reload the daemons")
    add_common(s)
    s = sub.add_parser("apply", help="apply the configuration over netlink, with DHCPv4")
    s.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to wait for a required DHCP lease (default 30)")
    add_common(s)
    s = sub.add_parser("dhcp", help="keep the direct backend's DHCPv4 leases renewed "
                       "(runs until SIGTERM)")
    add_common(s, prints=False)
    return p


class ApplyOptions:
    """What `build_parser()` parses for `netdog apply`, with its defaults."""

    __slots__ = ("cmd", "json", "log_format", "log_level", "plan", "root", "timeout")

    def __init__(self) -> None:
        self.cmd = "apply"
        self.timeout = 30.0
        self.root: str | None = None
        self.plan = self.json = False
        self.log_format = "text"
        self.log_level = "info"


_APPLY_FLAGS = {"--plan": "plan", "--dry-run": "plan", "--json": "json"}
_APPLY_VALUED: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "--root": ("root", None),
    "--timeout": ("timeout", None),
    "--log-format": ("log_format", ("text", "json")),
    "--log-level": ("log_level", ("debug", "info", "warning", "error")),
}


def quick_apply(argv: list[str]) -> ApplyOptions | None:
    """`netdog apply` in the plain forms a unit or a script runs it with, read without
    argparse (kindling/quick_argv.py), as `kindling boot` is; None: argparse parses (or
    refuses) `argv`."""
    if not argv or argv[0] != "apply":
        return None
    from kindling.quick_argv import quick_parse

    opts = ApplyOptions()
    return opts if quick_parse(argv[1:], opts, _APPLY_FLAGS, _APPLY_VALUED, {"timeout": float}) else None


def _print(args: argparse.Namespace | ApplyOptions, value: Any, text: str, host: Host | None = None) -> None:
    if host is not None and host.recording:  # --plan: show what would be done
        if isinstance(value, dict):
            value = {**value, "plan": list(host.actions)}
        text += "".join(f"\n    would {a}" for a in host.actions)
    if getattr(args, "json", False):
        from kindling.envelope import emit_result  # cli_common.emit_json, without argparse

        emit_result(value)
    else:
        sys.stdout.write(text + "\n")


def _generate(host: Host, args: argparse.Namespace) -> int:
    from netdog.generate import generate_net_config

    report = generate_net_config(host)
    if report.source is None:
        _log.warning("No network interfaces were configured")
    detail = {"source": report.source, "primary": report.primary,
              "written": report.written, "unchanged": report.unchanged}
    written = "would be written" if host.recording else "written"
    text = (f"{len(report.written)} {written}, {len(report.unchanged)} unchanged "
            f"(source {report.source}, primary {report.primary})")
    _print(args, detail, text, host)
    return 0


def _validate(host: Host, args: argparse.Namespace) -> int:
    """The engine of `kindling validate` (every error, annotated), read as net.toml;
    then, when valid, what netdog would configure. No FILE: the file in effect, else
    the kernel command line's `netdog.default-interface=`."""
    from kindling.cli_common import emit_json
    from kindling.validate.cli import failure_of, print_reports
    from kindling.validate.engine import read_input, validate_data
    from netdog.parse import parse_net_toml
    from netdog.source import load_net_config, net_toml_path

    path = None if args.file else net_toml_path(host)
    if args.file or path is not None:
        data, source = read_input(args.file) if path is None else (host.read_bytes(path, limit=1 << 20), path)
        report = validate_data(data, source, host, kind="net")
        if not report.ok:
            if args.json:
                emit_json({"interfaces": [], "primary": None, "errors": [f.to_json() for f in report.findings]},
                          ok=False, error=failure_of(report))
                return print_reports([report], as_json=False, prog="kindling netdog", stdout=False)
            return print_reports([report], as_json=False, prog="kindling netdog")
        config = parse_net_toml(data.decode("utf-8"), source)
    else:
        config = load_net_config(host)  # the cmdline: one definition, fail-fast
    ids = [str(i) for i in config.ids()] if config else []
    _print(args, {"interfaces": ids, "primary": str(config.primary) if config else None, "errors": []},
           f"ok: {len(ids)} interfaces" + (f", primary {config.primary}" if config else ""))
    return 0


def _status(host: Host, args: argparse.Namespace) -> int:
    from netdog.addresses import LinkAddress
    from netdog.model import IpAddr
    from netdog.status import (
        netlink_addresses,
        parse_networkctl_json,
        write_primary_interface_status,
    )

    capture: str | None = None
    if args.networkctl_json:
        try:
            capture = open(args.networkctl_json, encoding="utf-8").read()  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"{args.networkctl_json}: cannot read: {exc.strerror}") from None

    def reader(ifname: str) -> list[IpAddr] | list[LinkAddress]:
        if capture is not None:
            return parse_networkctl_json(capture, args.networkctl_json)
        return netlink_addresses(ifname, host.netns)

    done = write_primary_interface_status(host, reader)
    _print(args, done, "; ".join(done) or "unchanged")
    return 0


def _generate_hostname(host: Host, args: argparse.Namespace) -> int:
    from kindling.platform_id import resolve_platform
    from netdog.hostname import HostnameSource, generate_hostname, reverse_dns
    from netdog.imds_hostname import imds_local_hostname
    from netdog.status import node_ip

    ip = node_ip(host)
    sources: list[tuple[str, HostnameSource]] = []
    if resolve_platform(host, args.platform) == "aws":
        sources.append(("imds", lambda: imds_local_hostname(host)))
    if not args.no_reverse_dns:
        sources.append(("reverse-dns", lambda: reverse_dns(host, ip)))
    name, _source = generate_hostname(ip, sources)
    _print(args, name, json.dumps(name))  # a JSON string, as Bottlerocket's (sundog reads it)
    return 0


def _resolv(host: Host, args: argparse.Namespace) -> int:
    from netdog.resolv import DnsSettings, parse_dns_toml, write_networkd_dns
    from netdog.source import load_net_config

    if args.netdog_toml:
        dns = parse_dns_toml(host.read_optional(args.netdog_toml) or "", args.netdog_toml)
    else:
        dns = _settings_dns(host) or DnsSettings()
    done = write_networkd_dns(host, dns, load_net_config(host), reload=not args.no_reload)
    _print(args, done, "; ".join(done) or "unchanged")
    return 0


def _settings_dns(host: Host) -> DnsSettings | None:
    """`settings.dns` from the datastore when there is one (first boot: none yet)."""
    from kindling.datastore_path import DATASTORE_PATH

    if not host.exists(DATASTORE_PATH):
        return None
    from kindling.api.service import SettingsService
    from netdog.resolv import dns_from_settings

    return dns_from_settings(SettingsService(host).get_settings(prefix="settings.dns"))


def _apply(host: Host, args: argparse.Namespace | ApplyOptions) -> int:
    from netdog.apply import apply_config

    report = apply_config(host, timeout=args.timeout, dns=_settings_dns(host))
    _print(args, report.as_dict(), report.summary(), host)
    return 0


def main(argv: list[str]) -> int:
    quick = quick_apply(argv)
    if quick is not None:
        from kindling.host import host_from_env

        log.configure(level=quick.log_level, fmt=quick.log_format)  # as cli_common.host_from_args
        return _apply(host_from_env(quick.root, plan=quick.plan), quick)
    from kindling.cli_common import host_from_args

    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    if args.cmd == "generate-net-config":
        return _generate(host, args)
    if args.cmd == "validate":
        return _validate(host, args)
    if args.cmd == "write-primary-interface-status":
        return _status(host, args)
    if args.cmd == "node-ip":
        from netdog.status import node_ip

        ip = node_ip(host)
        _print(args, ip, json.dumps(ip))  # Bottlerocket prints the address as a JSON string
        return 0
    if args.cmd == "generate-hostname":
        return _generate_hostname(host, args)
    if args.cmd == "set-hostname":
        from netdog.hostname import set_hostname

        changed = set_hostname(host, args.hostname)
        _print(args, {"changed": changed}, host.did("set", "the hostname") if changed else "unchanged")
        return 0
    if args.cmd == "write-resolv-conf":
        return _resolv(host, args)
    if args.cmd == "dhcp":
        from netdog.keep_leases import keep_leases

        served = keep_leases(host, dns=_settings_dns(host))
        sys.stdout.write(f"served {served} interfaces\n")
        return 0
    return _apply(host, args)
