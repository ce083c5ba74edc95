"""`settings.boot.*`: kernel and init command-line parameters (bootconfig).

`boot.kernel` and `boot.init` are accepted as Bottlerocket's aliases of
`kernel-parameters` and `init-parameters` and stored under the long names."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, MapOf, Struct


def _params(doc: str) -> MapOf:
    return MapOf(t.bootconfig_key, ListOf(Leaf(t.bootconfig_value)), "not a valid bootconfig key", doc=doc)


MODEL = Struct(
    {
        "reboot-to-reconcile": Leaf(t.boolean, kind="boolean", doc="reboot at boot when parameters changed",
                                    default="false"),
        "kernel-parameters": _params("kernel command-line parameters: name = [values]"),
        "init-parameters": _params("init command-line parameters: name = [values]"),
        "loader": Leaf(t.enum("auto", "grub", "systemd-boot", "none"),
                       doc="boot loader that carries the parameters (auto: detected; none: "
                       "bootconfig.data only)", default="auto"),
    },
    owner="applier:bootconfig",
    aliases={"kernel": "kernel-parameters", "init": "init-parameters"},
)
