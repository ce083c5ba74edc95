"""Metal: local user-data files and the /proc/bootconfig provider."""
