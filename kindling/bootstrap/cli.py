"""`kindling bootstrap run-command NAME | run-container NAME | host-container NAME`.

What the units `kindling-bootstrap-command@NAME`, `kindling-bootstrap-container@NAME`
and `kindling-host-container@NAME` run. Each reads settings.<kind>.NAME when it starts;
a successful `mode = "once"` entry is then switched to "off" through the settings API.
--plan prints the commands it would run.
"""

from __future__ import annotations

import argparse
import sys

from kindling.cli_common import add_common, emit_json, host_from_args

__all__ = ["build_parser", "main"]

_EPILOG = """examples:
  kindling bootstrap run-command 001-set-motd
  kindling bootstrap run-container setup --plan
  kindling bootstrap host-container admin

Containers run with podman, or containerd's ctr when podman is not installed;
/etc/kindling/containers.toml chooses (runtime = "podman" | "ctr") and adds options."""


_DESCRIPTION = """\
Run one bootstrap command, bootstrap container or host container, as the units
kindling-bootstrap-command@NAME, kindling-bootstrap-container@NAME and
kindling-host-container@NAME do. Each reads settings.<kind>.NAME when it starts; a
successful mode = "once" entry is then switched to "off" through the settings API."""

# verb -> (help, the settings table its NAME is an entry of)
_VERBS = {
    "run-command": ("run one bootstrap command's apiclient commands", "bootstrap-commands"),
    "run-container": ("run one bootstrap container to completion", "bootstrap-containers"),
    "host-container": ("run one host container in the foreground", "host-containers"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kindling bootstrap", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb, (help_, table) in _VERBS.items():
        p = sub.add_parser(verb, help=help_)
        p.add_argument("name", metavar="NAME", help=f"the entry of settings.{table} to run")
        add_common(p)
    return parser


def main(argv: list[str]) -> int:
    from kindling.bootstrap import run

    verbs = {
        "run-command": run.run_bootstrap_command,
        "run-container": run.run_bootstrap_container,
        "host-container": run.run_host_container,
    }
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    done = verbs[args.verb](host, args.name)
    if args.json:
        emit_json({"done": done})
    else:
        sys.stdout.write("".join(f"{line}\n" for line in done))
    return 0
