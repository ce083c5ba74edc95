"""Every command's --help speaks to users: each option and positional has a help text,
and none cites an issue or a contract section (those belong in docstrings)."""

from __future__ import annotations

import argparse

from kindling.cli import COMMANDS
from kindling.reference.parsers import Command, commands, help_problems, subcommands


def test_every_option_and_positional_of_every_command_has_user_facing_help() -> None:
    cmds = list(commands())
    assert {c.words[0] for c in cmds} == set(COMMANDS)  # every command exposes build_parser
    assert len(cmds) > len(COMMANDS)  # the subcommands are walked too
    problems = help_problems(cmds)
    assert problems == [], "\n".join(problems)


def test_the_check_finds_a_missing_help_and_an_issue_number() -> None:
    parser = argparse.ArgumentParser(prog="kindling demo", description="as issue 17 asks")
    parser.add_argument("--quiet", action="store_true")
    sub = parser.add_subparsers(dest="verb")
    leaf = sub.add_parser("go", help="see DESIGN §4")
    leaf.add_argument("target", help="fixes #12")
    top = Command(("demo",), "", parser)
    problems = help_problems([top, *subcommands(top)])
    assert problems == [
        "kindling demo: no one-line help",
        "kindling demo --quiet: no help text",
        "kindling demo: description: says 'issue'",
        "kindling demo go: help: says 'DESIGN'",
        "kindling demo go target: says '#1'",
    ]
