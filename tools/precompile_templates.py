"""Regenerate kindling/templates/precompiled.json: Jinja2's Python for every shipped
template (kindling/templates/precompiled.py says why and when it is used).

Run after editing a shipped template, the engine's options or upgrading Jinja2;
tests/templates/test_precompiled.py fails while the file is out of date.

    .venv/bin/python tools/precompile_templates.py
"""

from __future__ import annotations

import json

from kindling.templates.precompiled import TABLE, build_table


def main() -> None:
    with open(TABLE, "w", encoding="utf-8") as fh:
        json.dump(build_table(), fh, indent=1)
        fh.write("\n")
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
