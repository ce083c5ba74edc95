"""Plain command lines read without argparse, for the commands a unit runs on every boot.

argparse's import, its gettext and building a parser cost ~4 ms, a tenth of a later boot
or of a DHCP lease. `kindling boot` and `netdog apply` are run by units and scripts in a
few plain forms; those are read here. Anything else (help, an abbreviation, `--opt=value`,
a repeated or unknown option, a value argparse would question) is left to argparse, which
parses or refuses it exactly as before: this is a shortcut, never a second grammar.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["quick_parse"]


def quick_parse(
    argv: list[str],
    opts: object,
    flags: Mapping[str, str],
    valued: Mapping[str, tuple[str, tuple[str, ...] | None]],
    convert: Mapping[str, Callable[[str], object]] | None = None,
) -> bool:
    """Set `opts`' attributes from `argv`: each flag (option -> attribute) to True, each
    valued option (option -> (attribute, allowed values or None)) to the next argument,
    through `convert[attribute]` when given (argparse's `type=`). False as soon as
    anything is not plain: then argparse must parse `argv`."""
    seen: set[str] = set()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in seen:
            return False
        seen.add(arg)
        if arg in flags:
            setattr(opts, flags[arg], True)
            i += 1
            continue
        if arg not in valued or i + 1 >= len(argv):
            return False
        dest, choices = valued[arg]
        value: object = argv[i + 1]
        if argv[i + 1].startswith("-") or (choices is not None and value not in choices):
            return False
        if convert is not None and dest in convert:
            try:
                value = convert[dest](argv[i + 1])
            except ValueError:
                return False
        setattr(opts, dest, value)
        i += 2
    return True
