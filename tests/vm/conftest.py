"""One guest per test session (tests/vm/flow.py), shared by the tests of this directory.

On a failure the console log and the guest's step outputs are copied to
`vm-artifacts/<time>/` in the checkout and the path is printed with the failure;
`KINDLING_VM_KEEP=1` keeps them after a passing run too.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

import pytest

from tests.vm.flow import VmRun, boot_flow
from tests.vm.qemu import qemu_available

_RUN_KEY = pytest.StashKey[VmRun]()


@pytest.fixture(scope="session")
def vm(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[VmRun]:
    """Build the guest (cached kernel), boot it once through the whole flow, return the run."""
    reason = qemu_available()
    if reason:
        pytest.skip(reason)
    run = boot_flow(tmp_path_factory.mktemp("vm"))
    request.config.stash[_RUN_KEY] = run
    hung = run.hung
    if hung is not None:
        kept = run.keep_artifacts()
        tail = "\n".join(hung.log.splitlines()[-30:])
        pytest.fail(f"guest hung: killed after {hung.seconds:.0f} s; "
                    f"console log kept at {kept}/{hung.console.name}\n{tail}")
    yield run
    if os.environ.get("KINDLING_VM_KEEP"):
        print(f"\nvm artifacts kept in {run.keep_artifacts()}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed VM test keeps the console log and says where it is."""
    report = yield
    if report.failed and item.get_closest_marker("vm") is not None:
        run = item.config.stash.get(_RUN_KEY, None)
        if run is not None:
            kept = run.keep_artifacts()
            report.sections.append(("vm artifacts", f"console log and guest step outputs kept in {kept}"))
    return report
