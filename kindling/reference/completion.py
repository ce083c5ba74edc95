"""Bash completion for `kindling`, generated from the argparse parsers.

The script completes commands and subcommands, each one's options, the values of
options with choices (`--platform`, `--log-level`), file and directory names where an
option or positional takes a path, and the settings namespaces after `settings
describe`. It is four `case` tables and one function: no Python runs on TAB.
"""

from __future__ import annotations

import argparse

from kindling.reference.parsers import Command, commands, options, positionals, subcommands

__all__ = ["render_bash_completion"]

_PATHS = ("FILE", "DIR", "PATH", "ROOT")  # metavars (or dests) that name a path


def _path_kind(action: argparse.Action) -> str | None:
    """`@dir` or `@file` when the value is a path, from its metavar or dest."""
    name = str(action.metavar or action.dest).upper()
    if name in ("DIR", "ROOT") or name.endswith("_DIR"):
        return "@dir"
    if any(p in name for p in _PATHS) or name in ("FILES", "SVG", "OUTPUT", "INITRD", "DEVICE"):
        return "@file"
    return None


def _values(action: argparse.Action) -> str | None:
    """What follows an option: its choices, a path marker, or "" (a free value)."""
    if action.nargs == 0:
        return None
    if action.choices:
        return " ".join(str(c) for c in action.choices)
    return _path_kind(action) or ""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _case(function: str, rows: list[tuple[str, str]], default: str) -> list[str]:
    lines = [f"{function}() {{", '    case "$1" in']
    lines += [f"        {_quote(key)}) echo {_quote(value)} ;;" for key, value in rows]
    lines += [f"        *) {default} ;;", "    esac", "}", ""]
    return lines


def render_bash_completion() -> str:
    from kindling.settings.model import NAMESPACES

    subs: list[tuple[str, str]] = []
    opts: list[tuple[str, str]] = []
    values: list[tuple[str, str]] = []
    args: list[tuple[str, str]] = []
    cmds: list[Command] = list(commands())
    top = " ".join(c.name for c in cmds if len(c.words) == 1)
    subs.append(("", top))
    opts.append(("", "--help --version"))
    for cmd in cmds:
        below = subcommands(cmd)
        if below:
            subs.append((cmd.name, " ".join(s.words[-1] for s in below)))
        own = options(cmd.parser)
        opts.append((cmd.name, " ".join(["--help", *(o for a in own for o in a.option_strings)])))
        for action in own:
            found = _values(action)
            if found is not None:
                values += [(f"{cmd.name}:{o}", found) for o in action.option_strings]
        for action in positionals(cmd.parser):
            kind = _path_kind(action)
            if kind:
                args.append((cmd.name, kind))
    args.append(("settings describe", " ".join(f"{ns}." for ns in NAMESPACES)))
    lines = [
        "# bash completion for kindling. Generated from its argparse parsers by `make docs`;",
        "# do not edit. Install: copy to /usr/share/bash-completion/completions/kindling,",
        "# or `source` it from ~/.bashrc.",
        "",
        *_case("_kindling_subcommands", subs, "return 1"),
        *_case("_kindling_options", opts, "return 1"),
        *_case("_kindling_option_values", values, "return 1"),
        *_case("_kindling_arguments", args, "return 1"),
        _FUNCTION,
    ]
    return "\n".join(lines)


_FUNCTION = r"""_kindling() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local node="" word i found
    COMPREPLY=()
    # the command path so far: words that are subcommands of what precedes them;
    # an option that takes a value skips it
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == -* ]]; then
            if [[ $word != *=* ]] && _kindling_option_values "$node:$word" >/dev/null; then
                ((i++))
            fi
            continue
        fi
        if found=$(_kindling_subcommands "$node") && [[ " $found " == *" $word "* ]]; then
            node=${node:+$node }$word
        fi
    done
    if [[ $prev == -* && $COMP_CWORD -gt 1 ]] && found=$(_kindling_option_values "$node:$prev"); then
        case "$found" in
            @file) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            @dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            *) mapfile -t COMPREPLY < <(compgen -W "$found" -- "$cur") ;;
        esac
        return 0
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_kindling_options "$node")" -- "$cur")
    elif found=$(_kindling_subcommands "$node"); then
        mapfile -t COMPREPLY < <(compgen -W "$found" -- "$cur")
    elif found=$(_kindling_arguments "$node"); then
        case "$found" in
            @file) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            @dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            *) compopt -o nospace 2>/dev/null; mapfile -t COMPREPLY < <(compgen -W "$found" -- "$cur") ;;
        esac
    fi
    return 0
}

complete -F _kindling kindling
"""
