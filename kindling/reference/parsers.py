"""Every command's argparse parser, walked: what the man pages, the bash completion and
the help-text test read.

Each command module in `kindling.cli.COMMANDS` exposes `build_parser()`; importing
them all costs what `kindling --help` must not, so only the generators and tests do.
argparse keeps its subcommands in private attributes (`_actions`, `_choices_actions`);
they are read here, in one place.
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Iterator

from kindling.cli import COMMANDS

__all__ = ["Command", "command", "commands", "help_problems", "options", "positionals", "subcommands", "texts"]


class Command:
    """One command or subcommand: its words after `kindling`, one-line help, parser."""

    __slots__ = ("help", "parser", "words")

    def __init__(self, words: tuple[str, ...], help_: str, parser: argparse.ArgumentParser) -> None:
        self.words = words
        self.help = help_
        self.parser = parser

    @property
    def name(self) -> str:
        return " ".join(self.words)


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def _capture(parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> argparse.Namespace:
    raise _Captured(parser)


def command(name: str) -> Command:
    """The top-level command `name` (a key of COMMANDS).

    Each command module should expose `build_parser()`. One that does not yet (a new
    command) still gets its pages: its `main` runs with `parse_args` stopped before it
    parses, which is the first thing every Kindling `main` does with its parser."""
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    build = getattr(module, "build_parser", None)
    if build is not None:
        parser: argparse.ArgumentParser = build()
        return Command((name,), help_, parser)
    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = _capture  # type: ignore[method-assign, assignment]
    try:
        module.main([])
    except _Captured as got:
        return Command((name,), help_, got.parser)
    finally:
        argparse.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    raise RuntimeError(f"kindling {name}: {module_name} has no build_parser() and main() parsed nothing")


def subcommands(cmd: Command) -> list[Command]:
    """The subcommands directly below `cmd`, in the order the parser declares them."""
    out: list[Command] = []
    for action in cmd.parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, parser in action.choices.items():
                out.append(Command((*cmd.words, name), helps.get(name, ""), parser))
    return out


def commands() -> Iterator[Command]:
    """Every command and, after each, its subcommands (depth first)."""

    def walk(cmd: Command) -> Iterator[Command]:
        yield cmd
        for sub in subcommands(cmd):
            yield from walk(sub)

    for name in COMMANDS:
        yield from walk(command(name))


def _shown(action: argparse.Action) -> bool:
    return action.help != argparse.SUPPRESS and not isinstance(
        action, argparse._SubParsersAction | argparse._HelpAction
    )


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options (`--root`, `-d`…) a user sees in `--help`, `--help` itself left out."""
    return [a for a in parser._actions if a.option_strings and _shown(a)]


def positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not a.option_strings and _shown(a)]


def texts(cmd: Command) -> Iterator[tuple[str, str]]:
    """(where, text) for every text `--help` shows for `cmd`: the test reads them all."""
    yield f"{cmd.name}: help", cmd.help
    yield f"{cmd.name}: description", cmd.parser.description or ""
    yield f"{cmd.name}: epilog", cmd.parser.epilog or ""
    for action in (*options(cmd.parser), *positionals(cmd.parser)):
        label = "/".join(action.option_strings) or action.metavar or action.dest
        yield f"{cmd.name} {label}", str(action.help or "")


# What a help text must not say: it speaks to users, not to the project's bookkeeping.
_BOOKKEEPING = re.compile(r"\bissues?\b|#[0-9]|\bDESIGN\b|§|contract section", re.IGNORECASE)


def help_problems(cmds: Iterator[Command] | list[Command]) -> list[str]:
    """One line per option or positional without help, per command without its one-line
    help, and per text that cites an issue or a contract section."""
    problems: list[str] = []
    for cmd in cmds:
        if not cmd.help.strip():
            problems.append(f"kindling {cmd.name}: no one-line help")
        for action in (*options(cmd.parser), *positionals(cmd.parser)):
            if not str(action.help or "").strip():
                label = "/".join(action.option_strings) or action.metavar or action.dest
                problems.append(f"kindling {cmd.name} {label}: no help text")
        for where, text in texts(cmd):
            found = _BOOKKEEPING.search(text)
            if found:
                problems.append(f"kindling {where}: says {found.group(0)!r}")
    return problems
