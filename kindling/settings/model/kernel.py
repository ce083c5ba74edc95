"""`settings.kernel.*`: sysctls, lockdown, module policy."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, MapOf, Struct

# Dot-separated names; no "/", blanks, empty segments or "..": the key becomes a path
# below /proc/sys (kindling/kernel/sysctl.py checks with the same type before writing).
_SYSCTL_KEY = t.sysctl_key
_MODULE = t.pattern(r"[A-Za-z0-9_-]{1,64}", "not a valid kernel module name", example="sctp")

MODEL = Struct(
    {
        "sysctl": MapOf(_SYSCTL_KEY, Leaf(t.single_line, example="10"), "not a valid sysctl key",
                        owner="applier:sysctl", doc="kernel parameters, key = value"),
        "lockdown": Leaf(t.enum("none", "integrity", "confidentiality"), owner="applier:lockdown",
                         doc="kernel lockdown level (raised at run time, lowered only by a reboot)"),
        "modules": MapOf(
            _MODULE,
            Struct({
                "allowed": Leaf(t.boolean, kind="boolean", doc="false: the module may not be loaded"),
                "autoload": Leaf(t.boolean, kind="boolean", doc="true: load the module at boot"),
            }),
            "not a valid kernel module name",
            owner="applier:kernel-modules",
        ),
    }
)
