"""`kindling support-bundle [-o FILE] [--plan]`: one tar.gz to attach to a ticket.

After Bottlerocket's logdog and `cloud-init collect-logs`: the boot's status and
timeline, the settings with every sensitive value redacted, the files Kindling wrote,
netdog's state, `kdump status`, and Kindling's unit states and journal where systemd
runs (kindling/bundle_sources.py says what and how). Nothing secret goes in, and a
piece that cannot be had is a line in the bundle's MANIFEST ("absent: why"), never a
failure: a bundle is wanted most on a node that is broken.

The bundle is written atomically, mode 0600 (redacted, it still maps the node), to
`-o FILE` or `/var/lib/kindling/support/kindling-support-<UTC time>.tar.gz` under the
root. Members are bounded (1 MiB each, the journal 4 MiB / 5000 lines, 400 files).
`--plan` collects and lists what it would put in, and writes nothing.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from typing import TYPE_CHECKING

from kindling.cli_common import add_common, emit_json, host_from_args

if TYPE_CHECKING:
    from kindling.bundle_sources import Part
    from kindling.host import Host

__all__ = ["DEFAULT_DIR", "build_bundle", "build_parser", "main", "manifest"]

DEFAULT_DIR = "/var/lib/kindling/support"


def manifest(parts: list[Part], *, root: str, created: float) -> str:
    """One line per member: its size and where it came from, or why it is absent."""
    from kindling import __version__

    width = min(max((len(p.name) for p in parts), default=10), 48)
    lines = [f"kindling support bundle (kindling {__version__})",
             f"created {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(created))}, root {root}", ""]
    for part in parts:
        size = "" if part.data is None else f"{len(part.data)} bytes  "
        lines.append(f"{part.name:<{width}}  {size}{part.note}")
    return "\n".join(lines) + "\n"


def build_bundle(parts: list[Part], *, top: str, root: str, created: float) -> bytes:
    """The tar.gz: MANIFEST first, then each present part, under the folder `top`."""
    import gzip
    import tarfile

    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=int(created)) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        members = [("MANIFEST", manifest(parts, root=root, created=created).encode())]
        members += [(p.name, p.data) for p in parts if p.data is not None]
        for name, data in members:
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mtime, info.mode = len(data), int(created), 0o644
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _output(host: Host, option: str | None, stamp: str) -> tuple[Host, str]:
    """(the Host to write through, the path): `-o` is a path of this machine, as
    `analyze --svg`; the default lies under the root. A plan's writer records only."""
    if option is None:
        return host, f"{DEFAULT_DIR}/kindling-support-{stamp}.tar.gz"
    import os

    writer = type(host)("/", env=host.env)
    return writer, os.path.abspath(option)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling support-bundle",
        description="Collect the boot's status and timeline, the redacted settings, the files Kindling writes, "
                    "netdog state, kdump status and Kindling's unit states and journal into one tar.gz. "
                    "Sensitive values are never included.",
        epilog="examples:\n  kindling support-bundle                      # /var/lib/kindling/support/…\n"
               "  kindling support-bundle -o /tmp/node-1.tar.gz\n"
               "  kindling support-bundle --plan               # what it would collect",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-o", "--output", metavar="FILE",
                        help=f"where to write the bundle (default: {DEFAULT_DIR}/kindling-support-<time>.tar.gz "
                             "under the root)")
    add_common(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)

    from kindling.bundle_sources import collect

    created = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(created))
    parts = collect(host)
    writer, path = _output(host, args.output, stamp)
    data = build_bundle(parts, top=f"kindling-support-{stamp}", root=str(host.root), created=created)
    if args.output is None:
        writer.makedirs(DEFAULT_DIR, mode=0o700)
    writer.write_file(path, data, mode=0o600)
    present = [p for p in parts if p.data is not None]
    absent = [p for p in parts if p.data is None]
    if args.json:
        emit_json({"ok": True, "plan": host.recording, "path": path, "bytes": len(data),
                   "members": [{"name": p.name, "bytes": len(p.data or b""), "source": p.note} for p in present],
                   "absent": [{"name": p.name, "why": p.note.removeprefix("absent: ")} for p in absent]})
        return 0
    verb = "would add" if host.recording else "added"
    files = [p for p in present if p.name.startswith("files/")]
    for part in present:
        if part not in files:
            sys.stdout.write(f"{verb} {part.name} ({len(part.data or b'')} bytes)\n")
    size = sum(len(p.data or b"") for p in files)
    sys.stdout.write(f"{verb} {len(files)} of the files Kindling writes ({size} bytes)\n")
    for part in absent:  # a file not written on this node is normal: the MANIFEST lists those
        if not part.name.startswith("files/"):
            sys.stdout.write(f"{part.name}: {part.note}\n")
    sys.stdout.write(f"{writer.did('write', path)} ({len(present) + 1} members with the MANIFEST, "
                     f"{len(absent)} absent: see MANIFEST; {len(data)} bytes)\n")
    return 0
