"""`kindling validate`: check user data, net.toml, driver configs and bootconfig offline.

One engine for every kind of file (`engine.validate_data`), used by `kindling validate`
and `kindling netdog validate`. It reports *every* error of a file, each with its line
and key, by running the same parsers and validators the boot path runs in their
collecting mode (`validate_settings(errors=…)`, `parse_net_toml(errors=…)`, …): a file
this engine passes is one the boot path commits, and the reverse. The hub knows only
user data; the other kinds are `Checker`s registered by their services under the
entry-point group `kindling.validators` (DESIGN §1: the hub imports no service).
"""

from kindling.validate.problem import Checker, FileReport, Finding, Problem

__all__ = ["Checker", "FileReport", "Finding", "Problem"]
