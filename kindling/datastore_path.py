"""Where the settings datastore lives, apart from kindling/datastore.py: a command that
only asks whether there is one (`netdog apply` on a first boot) need not import sqlite3
(~2-4 ms) to learn the path."""

__all__ = ["DATASTORE_PATH"]

DATASTORE_PATH = "/var/lib/kindling/datastore.sqlite3"
