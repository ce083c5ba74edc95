"""The generated reference files, all at once: what `make docs` writes and the test
compares with the committed copies."""

from __future__ import annotations

from pathlib import Path

from kindling.cli import COMMANDS

__all__ = ["generated_files", "stale_files", "write_files"]

MAN_DIR = "docs/man"


def generated_files() -> dict[str, str]:
    """Repository-relative path -> text, for every generated reference file."""
    from kindling.reference.completion import render_bash_completion
    from kindling.reference.man import render_command_page, render_main_page
    from kindling.reference.settings_md import render_settings_md

    files = {"docs/settings.md": render_settings_md(), f"{MAN_DIR}/kindling.8": render_main_page()}
    for name in COMMANDS:
        files[f"{MAN_DIR}/kindling-{name}.8"] = render_command_page(name)
    files["docs/completion/kindling.bash"] = render_bash_completion()
    return files


def _leftover_pages(root: Path, files: dict[str, str]) -> list[str]:
    """Man pages of commands that no longer exist."""
    found = sorted(p.relative_to(root).as_posix() for p in (root / MAN_DIR).glob("*.8"))
    return [p for p in found if p not in files]


def stale_files(root: Path) -> list[str]:
    """The generated files missing, different, or left over under `root`."""
    files = generated_files()
    stale = [p for p, text in files.items()
             if not (root / p).is_file() or (root / p).read_text(encoding="utf-8") != text]
    return stale + _leftover_pages(root, files)


def write_files(root: Path) -> list[str]:
    """Write every generated file under `root`; remove pages of removed commands.
    Returns the paths changed."""
    files = generated_files()
    changed: list[str] = []
    for path, text in files.items():
        target = root / path
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(path)
    for path in _leftover_pages(root, files):
        (root / path).unlink()
        changed.append(path)
    return changed
