"""`kindling settings describe KEY… [--json]`: what the model says of a key (DESIGN §4, §6).

Reads the model only: no datastore, no API, no root needed, so it answers the same on
a laptop writing user data as on the node.
"""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import RawDescriptionFormatter, add_common, emit_json, setup_logging

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  kindling settings describe motd
  kindling settings describe 'kernel.sysctl."vm.swappiness"'
  kindling settings describe 'kubernetes.node-labels.*' --json
  kindling settings describe ntp          # every key below settings.ntp

Every key is listed in docs/settings.md."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kindling settings", formatter_class=RawDescriptionFormatter,
        description="Describe the settings model: each key's type, the rule its values follow, "
        "what happens when it is unset, who makes it take effect, whether it is sensitive, and "
        "an example in user data.")
    sub = parser.add_subparsers(dest="verb", required=True)
    describe = sub.add_parser("describe", help="describe keys, patterns or prefixes of the model",
                              epilog=_EPILOG, formatter_class=RawDescriptionFormatter)
    describe.add_argument("keys", nargs="+", metavar="KEY",
                          help='a dotted key as in user data or apiclient (motd, kernel.sysctl."vm.swappiness", '
                          "kernel.sysctl.*) or a prefix (ntp) for every key below it")
    add_common(describe, acts=False)  # --root is taken, as by every command; the model needs none
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args)

    from kindling.reference.keys import describe

    found = [doc for key in args.keys for doc in describe(key)]
    if args.json:
        emit_json({"keys": [doc.to_json() for doc in found]})
    else:
        sys.stdout.write("\n".join(doc.text() for doc in found))
    return 0
