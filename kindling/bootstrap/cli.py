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

__all__ = ["main"]

_EPILOG = """examples:
  kindling bootstrap run-command 001-set-motd
  kindling bootstrap run-container setup --plan
  kindling bootstrap host-container admin

Containers run with podman, or containerd's ctr when podman is not installed;
/etc/kindling/containers.toml chooses (runtime = "podman" | "ctr") and adds options."""


def main(argv: list[str]) -> int:
    from kindling.bootstrap import run

    parser = argparse.ArgumentParser(prog="kindling bootstrap", description=__doc__, epilog=_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    verbs = {
        "run-command": ("run one bootstrap command's apiclient commands", run.run_bootstrap_command),
        "run-container": ("run one bootstrap container to completion", run.run_bootstrap_container),
        "host-container": ("run one host container in the foreground", run.run_host_container),
    }
    for verb, (help_, _) in verbs.items():
        p = sub.add_parser(verb, help=help_)
        p.add_argument("name")
        add_common(p)
    args = parser.parse_args(argv)
    host = host_from_args(args)
    done = verbs[args.verb][1](host, args.name)
    if args.json:
        emit_json({"done": done})
    else:
        sys.stdout.write("".join(f"{line}\n" for line in done))
    return 0
