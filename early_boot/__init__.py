"""early-boot-config: read user data from the platform's providers, merge, validate,
commit once through the settings API, write the first-boot marker (DESIGN §5, §7)."""

MARKER_PATH = "/var/lib/kindling/early-boot-config.ran"  # here: the boot stage checks it without the runner
