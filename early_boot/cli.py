"""`kindling early-boot-config [--platform P] [--plan] [--json]` (DESIGN §4): wiring only."""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import RawDescriptionFormatter, add_common, emit_json, host_from_args

__all__ = ["build_parser", "main"]

_EPILOG = """\
sources, in order (later wins per key; all are validated, then committed at once):
  10 /etc/kindling/user-data-defaults.toml     20 /var/lib/kindling/user-data.toml
  30 aws: /etc/kindling/identity-document or IMDS identity document (region)
     vmware: CD-ROM /dev/sr0 (ovf-env.xml or user-data)   metal: /proc/bootconfig
  40 aws: IMDS user-data      vmware: guestinfo.userdata (vmware-rpctool)
  50-98 executables in /etc/kindling/providers.d      99 /etc/kindling/user-data-overrides.toml
Runs once: /var/lib/kindling/early-boot-config.ran marks a node as configured.
Environment: AWS_EC2_METADATA_SERVICE_ENDPOINT[_MODE], KINDLING_IMDS_BUDGET (300 s),
KINDLING_IMDS_TIMEOUT (5 s), KINDLING_VMWARE_RPCTOOL, KINDLING_VMWARE_RPCTOOL_TIMEOUT,
KINDLING_PROVIDER_TIMEOUT (120 s).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling early-boot-config",
        description="Read this platform's user data, validate it and commit it at first boot.",
        epilog=_EPILOG,
        formatter_class=RawDescriptionFormatter,
    )
    parser.add_argument(
        "--platform",
        default="auto",
        choices=("auto", "aws", "vmware", "metal"),
        help="whose providers run (default: kernel argument kindling.platform=, else DMI)",
    )
    add_common(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)

    from early_boot.runner import UNREAD, effect_line, run_early_boot
    from kindling.platform_id import resolve_platform

    platform = resolve_platform(host, args.platform)
    # The appliers' files are synced at one barrier, before the marker (docs/CONTRACT-NOTES.md,
    # "one barrier"); the unit's consumers start after this process has exited.
    with host.deferred_sync():
        report = run_early_boot(host, platform)
    if args.json:
        out = report.to_json()
        out["plan"] = host.recording
        out["actions"] = list(host.actions)
        emit_json(out)
        return 0
    write = sys.stdout.write
    if report.skipped:
        write(f"early-boot-config: skipped: {report.skipped}\n")
        return 0
    for p in report.providers:
        found = f"{p.keys} keys from {p.source}" if p.source else "no user data"
        if p.source == UNREAD:
            found = UNREAD
        write(f"{p.order:>3} {p.name:<22} {found}\n")
    verb = "would change" if host.recording else "changed"
    write(f"early-boot-config: platform {platform}, {len(report.changed)} keys {verb}\n")
    for line in report.generated:
        write(f"generator: {line}\n")
    for effect in report.effects:
        write(f"    {effect_line(host, effect)}\n")
    for failure in report.applier_failures:
        write(f"warning: applier {failure}\n")
    if host.recording:
        diffs: dict[int, str] = getattr(host, "diffs", {})
        for index, action in enumerate(host.actions):
            write(f"    would {action}\n")
            for line in diffs.get(index, "").splitlines():
                write(f"      {line}\n")
    return 0
