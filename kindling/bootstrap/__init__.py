"""Bootstrap commands, bootstrap containers and host containers as systemd units
(DESIGN §10): the appliers write instance links and ordering drop-ins of the template
units shipped in `kindling/units/`; `kindling bootstrap …` is what the units run."""
