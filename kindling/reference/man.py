"""Man pages from the argparse parsers: `kindling(8)` and `kindling-<command>(8)`.

The pages say what `--help` says, laid out for `man`: synopsis, description, options,
one subsection per subcommand, the examples of the epilog. Rendering is pure (parser
in, roff text out) and deterministic: no date, a fixed width, non-ASCII written as
groff's `\\[uXXXX]` so any groff renders it without a preprocessor.
"""

from __future__ import annotations

import argparse

from kindling.cli import COMMANDS
from kindling.reference.parsers import Command, command, options, positionals, subcommands

__all__ = ["render_command_page", "render_main_page", "roff_text"]

_EXIT = "0 on success, 1 on failure (one line on stderr naming the source and the key), 2 on a usage error."
_WIDTH = 78  # the synopsis is argparse's usage, wrapped at a fixed width

_ENVIRONMENT = (
    ("KINDLING_ROOT", "root prefix for every path, as --root"),
    ("KINDLING_PLATFORM", "the platform, for external user-data providers"),
    ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "the instance metadata service to ask (aws)"),
    ("AWS_ENDPOINT_URL_CLOUDFORMATION, AWS_ENDPOINT_URL_AUTO_SCALING", "AWS endpoints (aws)"),
)
_FILES = (
    ("/var/lib/kindling/datastore.sqlite3", "the settings datastore"),
    ("/run/kindling/api.sock", "the settings API socket"),
    ("/etc/kindling/user-data-defaults.toml, /etc/kindling/user-data-overrides.toml",
     "local user data read before and after the platform's"),
    ("/var/lib/kindling/net.toml", "network configuration (Bottlerocket's net.toml)"),
    ("/run/kindling/timeline.json", "the last boot's timeline"),
    ("/var/lib/kindling/*.ran", "first-boot markers"),
)


def roff_text(text: str) -> str:
    """Text safe in a roff line: backslashes, leading dots/quotes, hyphens, non-ASCII."""
    out: list[str] = []
    for line in text.split("\n"):
        escaped = "".join(_char(c) for c in line)
        if escaped[:1] in (".", "'"):
            escaped = "\\&" + escaped
        out.append(escaped)
    return "\n".join(out)


def _char(c: str) -> str:
    if c == "\\":
        return "\\e"
    if c == "-":
        return "\\-"
    if ord(c) > 126:
        return f"\\[u{ord(c):04X}]"
    return c


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=_WIDTH)


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = _formatter(parser.prog)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip("\n")


def _option_lines(parser: argparse.ArgumentParser) -> list[str]:
    formatter = _formatter(parser.prog)
    lines: list[str] = []
    for action in (*positionals(parser), *options(parser)):
        if action.option_strings:
            names = ", ".join(f"\\fB{roff_text(o)}\\fR" for o in action.option_strings)
            if action.nargs != 0:
                metavar = formatter._format_args(action, formatter._get_default_metavar_for_optional(action))
                names += f" \\fI{roff_text(metavar)}\\fR"
        else:
            metavar = formatter._format_args(action, formatter._get_default_metavar_for_positional(action))
            names = f"\\fI{roff_text(metavar)}\\fR"
        help_ = formatter._expand_help(action) if action.help else ""
        lines += [".TP", names, roff_text(help_)]
    return lines


def _block(text: str) -> list[str]:
    """Text whose line breaks matter (a description or epilog with a table, examples)."""
    return [".nf", roff_text(text.rstrip("\n")), ".fi"]


def _prose(text: str) -> list[str]:
    """A description: kept as written when it holds line breaks, filled when it is one paragraph."""
    if not text:
        return []
    return _block(text) if "\n" in text.strip("\n") else [roff_text(text.strip())]


def _section(cmd: Command, heading: str) -> list[str]:
    lines = [heading, ".nf", roff_text(_usage(cmd.parser)), ".fi"]
    description = cmd.parser.description or cmd.help
    lines += [".PP", *_prose(description)]
    if options(cmd.parser) or positionals(cmd.parser):
        lines += [".PP", "Options:", ".RS", *_option_lines(cmd.parser), ".RE"]
    if cmd.parser.epilog:
        lines += [".PP", *_block(cmd.parser.epilog)]
    return lines


def _walk(cmd: Command) -> list[Command]:
    out: list[Command] = []
    for sub in subcommands(cmd):
        out += [sub, *_walk(sub)]
    return out


def render_command_page(name: str) -> str:
    cmd = command(name)
    page = f"kindling-{name}"
    lines = [
        f'.TH "{page.upper()}" 8 "" "Kindling" "Kindling manual"',
        ".SH NAME",
        f"{roff_text(page)} \\- {roff_text(cmd.help)}",
        ".SH SYNOPSIS",
        ".nf",
        roff_text(_usage(cmd.parser)),
        ".fi",
        ".SH DESCRIPTION",
        *_prose(cmd.parser.description or cmd.help),
    ]
    if options(cmd.parser) or positionals(cmd.parser):
        lines += [".SH OPTIONS", *_option_lines(cmd.parser)]
    subs = _walk(cmd)
    if subs:
        lines.append(".SH COMMANDS")
        for sub in subs:
            lines += _section(sub, f'.SS "{roff_text(sub.name)}"')
    if cmd.parser.epilog:
        lines += [".SH NOTES", *_block(cmd.parser.epilog)]
    if "exit status" not in (cmd.parser.epilog or "").lower():  # a command's own codes are in its notes
        lines += [".SH EXIT STATUS", _EXIT]
    lines += [
        ".SH SEE ALSO",
        ".BR kindling (8)",
    ]
    return "\n".join(lines) + "\n"


def render_main_page() -> str:
    lines = [
        '.TH "KINDLING" 8 "" "Kindling" "Kindling manual"',
        ".SH NAME",
        "kindling \\- boot and platform services for container hosts",
        ".SH SYNOPSIS",
        ".B kindling",
        ".I command",
        "[\\fIoptions\\fR]",
        ".br",
        ".B kindling",
        "\\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR",
        ".SH DESCRIPTION",
        "Kindling brings Bottlerocket's boot services to any systemd Linux node: user data from "
        "the platform, the settings API, network configuration, data-partition growth, GPU drivers, "
        "crash dumps and the cloud signals, each a command below. Every command takes "
        "\\fB\\-\\-root\\fR \\fIDIR\\fR; commands that act take \\fB\\-\\-plan\\fR, which prints "
        "what they would do and does nothing.",
        ".SH COMMANDS",
    ]
    for name, (_, help_) in COMMANDS.items():
        lines += [".TP", f".BR kindling\\-{roff_text(name)} (8)", roff_text(help_)]
    lines.append(".SH ENVIRONMENT")
    for var, what in _ENVIRONMENT:
        lines += [".TP", f"\\fB{roff_text(var)}\\fR", roff_text(what)]
    lines.append(".SH FILES")
    for path, what in _FILES:
        lines += [".TP", f"\\fI{roff_text(path)}\\fR", roff_text(what)]
    lines += [
        ".SH EXIT STATUS",
        _EXIT,
        ".SH SEE ALSO",
        *(f".BR kindling\\-{roff_text(n)} (8){',' if i < len(COMMANDS) - 1 else ''}"
          for i, n in enumerate(COMMANDS)),
        ".PP",
        "docs/settings.md, or \\fBkindling settings describe\\fR \\fIKEY\\fR, for every settings key.",
    ]
    return "\n".join(lines) + "\n"
