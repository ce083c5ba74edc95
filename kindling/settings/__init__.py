"""The settings model (DESIGN §6): typed, strict, errors with the full dotted key."""

from kindling.settings.schema import is_sensitive, node_at, validate_settings

__all__ = ["is_sensitive", "node_at", "validate_settings"]
