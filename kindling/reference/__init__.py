"""Reference documentation generated from the code itself (the settings model, the
argparse parsers): `docs/settings.md`, the man pages, bash completion and
`kindling settings describe`. Nothing here is written by hand, so nothing drifts."""
