"""Write the crash reservation into boot settings (issue 7, item 2).

`settings.boot.kernel-parameters.crashkernel` is committed through the settings API
in its own transaction, so the `bootconfig` applier regenerates bootconfig.data
(`kernel.crashkernel`) in the same step; a reboot is then needed to reserve.
"""

from __future__ import annotations

from kdump.plan import PARAM_KEY, KdumpPlan
from kindling.host import Host

__all__ = ["write_reservation"]


def write_reservation(host: Host, plan: KdumpPlan) -> list[str]:
    """Commit the plan's crashkernel parameter; [] when boot settings already hold it."""
    if plan.write_parameter is None:
        return []
    from kindling.api.service import SettingsService

    tree = {"boot": {"kernel-parameters": {"crashkernel": [plan.write_parameter]}}}
    report = SettingsService(host).set_tree(tree, tx="kdump", source="kdump plan")
    done = [f"{PARAM_KEY} = [{plan.write_parameter!r}]"]
    done += [f"{o.name}: {o.detail}" for o in report.applied]
    return done
