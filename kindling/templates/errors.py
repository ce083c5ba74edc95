"""Errors of the template layer.

    KindlingError
    └── InputError
        └── TemplateError          a declaration or render failed: names the template,
            │                      the line and the setting involved (never a value)
            ├── OutsidePrefixes    the template read a key its declaration does not list
            └── RenderTimeout      the render ran past its time limit
"""

from __future__ import annotations

from kindling.errors import InputError

__all__ = ["HelperError", "OutsidePrefixes", "RenderTimeout", "SkipFile", "TemplateError"]


class TemplateError(InputError):
    """`template NAME[, line N][, setting KEY]: message`."""

    def __init__(
        self, template: str, message: str, *, line: int | None = None, setting: str | None = None
    ) -> None:
        self.template = template
        self.line = line
        self.setting = setting
        self.detail = message
        where = f"template {template}"
        if line is not None:
            where += f", line {line}"
        if setting is not None:
            where += f", setting {setting}"
        super().__init__(message, source=where)


class OutsidePrefixes(Exception):
    """A read of `key`, which no declared prefix covers."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"reads {key}, outside the prefixes its declaration lists")


class RenderTimeout(Exception):
    """The render's deadline passed (a runaway loop)."""


class HelperError(Exception):
    """A template helper refused a value; `key` names the setting it came from."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class SkipFile(Exception):
    """`skip()` in a template: this file is not wanted with these settings."""
