"""Regenerate kindling/templates/precompiled.json: Jinja2's Python for every shipped
template, kindling/templates/compiled/: the runtime entries' code as modules, so
Python keeps their .pyc (kindling/templates/precompiled.py says why and when each is used),
and kindling/templates/shipped.json: the shipped declarations parsed (declaration.py).

Run after editing a shipped template, the engine's options or upgrading Jinja2;
tests/templates/test_precompiled.py fails while either is out of date.

    .venv/bin/python tools/precompile_templates.py
"""

from __future__ import annotations

import json
import os

from kindling.templates.declaration import SHIPPED_TABLE, build_shipped_table
from kindling.templates.precompiled import MODULES, TABLE, build_modules, build_table


def main() -> None:
    table = build_table()
    with open(TABLE, "w", encoding="utf-8") as fh:
        json.dump(table, fh, indent=1)
        fh.write("\n")
    print(f"wrote {TABLE}")
    files = build_modules(table)
    os.makedirs(MODULES, exist_ok=True)
    for stale in set(os.listdir(MODULES)) - set(files):
        if stale.endswith(".py"):
            os.remove(os.path.join(MODULES, stale))
    for name, source in files.items():
        with open(os.path.join(MODULES, name), "w", encoding="utf-8") as fh:
            fh.write(source)
    print(f"wrote {len(files)} files under {MODULES}")
    with open(SHIPPED_TABLE, "w", encoding="utf-8") as fh:
        json.dump(build_shipped_table(), fh, indent=1)
        fh.write("\n")
    print(f"wrote {SHIPPED_TABLE}")


if __name__ == "__main__":
    main()
