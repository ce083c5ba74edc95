"""Configuration files rendered from settings by declared templates (DESIGN §10).

A declaration (TOML, shipped as package data or in `/etc/kindling/templates.d/`) names
an output file, the settings prefixes it reads, a Jinja2 template and the commands
that restart its consumer. This package stays light: Jinja2 is imported only when a
template is rendered, so commits and boots without templates do not pay for it.
"""
