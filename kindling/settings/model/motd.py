"""`settings.motd` → `/etc/motd`."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf

MODEL = Leaf(t.text, owner="applier:motd", doc="message of the day, written to /etc/motd")
