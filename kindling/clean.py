"""`kindling clean [--first-boot]`: re-arm first boot before an image is captured.

After cloud-init's `clean`. An image made from a booted node must not carry that
node's first boot along: its markers would make every clone skip early-boot-config,
cfsignal and warm-pool-wait (markers also record their machine, see
kindling/first_boot.py, but an image builder wants a clean image, not a warning).

- `--first-boot`: the first-boot markers (`/var/lib/kindling/*.ran`), the later-boot
  fingerprint (`/var/lib/kindling/boot-state.json`) and a pending launch transaction,
  so the next boot runs the once-per-node services again; the settings stay.
- without it, also the node's own state: the settings datastore, netdog's state
  (primary interface, current IP, DHCP leases), the boot timeline and boot progress. Configuration
  files the appliers wrote stay: the next boot rewrites them from its own settings.

Like every command that acts, `--plan` says what would be removed and removes nothing.
"""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import add_common, emit_json, host_from_args
from kindling.host import Host

__all__ = ["LAUNCH_TX", "NODE_STATE", "build_parser", "clean", "main"]

LAUNCH_TX = "kindling-launch"  # early-boot-config's transaction (Bottlerocket's bottlerocket-launch)
NODE_STATE = (
    "/var/lib/kindling/datastore.sqlite3",
    "/var/lib/kindling/datastore.sqlite3-wal",
    "/var/lib/kindling/datastore.sqlite3-shm",
    "/var/lib/kindling/netdog",
    "/run/kindling/netdog",
    "/run/kindling/timeline.json",
    "/run/kindling/boot-progress.json",  # kindling/boot_progress.py: `status` would report the old boot
)


def _remove_tree(host: Host, path: str) -> list[str]:
    """Remove the file `path`, or every file below the directory `path` (dirs stay)."""
    if not host.path(path).is_dir():
        return [path] if host.remove(path) else []
    removed: list[str] = []
    for name in host.listdir(path):
        removed += _remove_tree(host, f"{path.rstrip('/')}/{name}")
    return removed


def _drop_launch_tx(host: Host) -> list[str]:
    from kindling.api.service import SettingsService
    from kindling.datastore import DATASTORE_PATH
    from kindling.errors import NotFoundError

    if not host.exists(DATASTORE_PATH):
        return []
    try:
        SettingsService(host).delete_tx(LAUNCH_TX)
    except NotFoundError:
        return []
    return [f"pending transaction {LAUNCH_TX}"]


def clean(host: Host, *, first_boot_only: bool) -> list[str]:
    """Remove what `--first-boot` (or a full clean) covers; returns what was removed."""
    from kindling.boot_fingerprint import STATE_PATH
    from kindling.first_boot import markers

    removed: list[str] = []
    for marker in markers(host):
        removed += _remove_tree(host, marker)
    # The later-boot fingerprint too: a clone must not replay this node's boot as unchanged.
    removed += _remove_tree(host, STATE_PATH)
    if first_boot_only:
        return removed + _drop_launch_tx(host)
    from kindling.api.service import release_thread_stores

    release_thread_stores()  # no cached connection may outlive the file it reads
    for path in NODE_STATE:
        removed += _remove_tree(host, path)
    return removed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling clean",
        description="Re-arm first boot so an image can be captured without this node's state.",
        epilog="examples:\n  kindling clean --first-boot --plan   # what would be removed\n"
               "  kindling clean                        # markers, settings, netdog state, timeline",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--first-boot", action="store_true",
        help="remove only the first-boot markers and a pending launch transaction (keep the settings)",
    )
    add_common(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    removed = clean(host, first_boot_only=args.first_boot)
    if args.json:
        emit_json({"ok": True, "plan": host.recording, "removed": removed})
        return 0
    for what in removed:
        sys.stdout.write(host.did("remove", what) + "\n")
    if not removed:
        sys.stdout.write("nothing to clean: first boot is armed already\n")
    else:
        sys.stdout.write("the next boot runs first-boot services again\n" if not host.recording
                         else "(plan: nothing was removed)\n")
    return 0
