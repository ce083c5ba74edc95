"""`python -m kindling.reference [--check] [ROOT]`: write (or check) the generated
reference files under ROOT (default: the current directory). `make docs` runs it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kindling.reference.generate import stale_files, write_files


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kindling.reference",
        description="write docs/settings.md, docs/man/*.8 and docs/completion/kindling.bash")
    parser.add_argument("root", nargs="?", default=".", help="the repository checkout (default .)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming the stale files")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.check:
        stale = stale_files(root)
        for path in stale:
            sys.stderr.write(f"{path}: stale (run 'make docs')\n")
        return 1 if stale else 0
    for path in write_files(root):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
