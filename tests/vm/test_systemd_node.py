"""Kindling's units under real systemd: a Debian guest boots as an EC2 node, as an EC2
node with a failing unit, and as a VMware node (tests/vm/systemd_guest.py).

Outcomes are read from outside the guest: the AWS stand-ins record what the node
signalled, the report on the second serial port carries PID 1's journal, and the disk
images are read after poweroff. The order the units must keep is derived from
`kindling boot`'s stage registry (each stage names its unit):

- a stage in a later band (order // 10) starts only after every unit of an earlier band
  it follows has finished, and a stage that lists another in `after` starts after it;
- inside the consumers' band cfsignal ends after warm-pool-wait (the stack hears once
  the node is in service and running); lifecycle-complete may answer during the
  warm-up, since the group holds the instance until it does.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.boot import Stage, load_stages, order_stages
from kindling.registry import entry_points
from tests.vm.qemu import qemu_available
from tests.vm.rootfs import build_wheel
from tests.vm.systemd_guest import REPO, Node, NodeRun, Span, aws_stand_ins, boot_node, startup_finished, unit_spans

pytestmark = [pytest.mark.vm, pytest.mark.timeout(1500)]

SYSCTLS = {"vm.swappiness": "17", "net.ipv4.tcp_keepalive_time": "321"}


def _user_data(hostname: str, *, aws: bool) -> bytes:
    text = f"""[settings]
motd = "booted by kindling under systemd ({hostname})"

[settings.network]
hostname = "{hostname}"
https-proxy = "http://10.0.2.2:3128"
no-proxy = ["10.0.2.100", "10.0.2.101", "localhost"]

[settings.dns]
name-servers = ["10.0.2.3"]
search-list = ["vmtest.internal"]

[settings.kernel.sysctl]
{chr(10).join(f'"{k}" = "{v}"' for k, v in SYSCTLS.items())}
"""
    if aws:
        text += """
[settings.cloudformation]
should-signal = true
stack-name = "node-stack"
logical-resource-id = "NodeGroup"

[settings.autoscaling]
should-wait = true
lifecycle-hook-name = "launch-hook"
"""
    return text.encode()


class Booted:
    """One node's run plus what the AWS stand-ins saw."""

    def __init__(self, run: NodeRun, calls: list[tuple[str, dict[str, str]]], state_polls: int) -> None:
        self.run = run
        self.calls = calls
        self.state_polls = state_polls
        self.spans: dict[str, Span] = unit_spans(run.section("journal"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout as a wheel, built once for every node of the module."""
    reason = qemu_available()
    if reason:
        pytest.skip(reason)
    return build_wheel(REPO, tmp_path_factory.mktemp("wheel"))


def _boot(node: Node, workdir: Path, wheel: Path) -> Booted:
    if node.platform == "aws":
        with aws_stand_ins(node.user_data) as (imds, endpoint):
            run = boot_node(node, workdir, wheel=wheel, imds_port=imds.port,  # type: ignore[attr-defined]
                            aws_port=int(endpoint.url.rsplit(":", 1)[1]))  # type: ignore[attr-defined]
            calls = [(c.action, c.params) for c in endpoint.calls]  # type: ignore[attr-defined]
            polls = imds.count("GET", "autoscaling/target-lifecycle-state")  # type: ignore[attr-defined]
    else:
        run = boot_node(node, workdir, wheel=wheel)
        calls, polls = [], 0
    if run.guest.timed_out or "done" not in run.sections:
        kept = run.keep_artifacts()
        state = f"killed after {run.guest.seconds:.0f} s" if run.guest.timed_out else "no complete report"
        tail = "\n".join(run.guest.log.splitlines()[-25:])
        pytest.fail(f"{node.name} guest: {state}; console, report and journal kept in {kept}\n{tail}")
    return Booted(run, calls, polls)


def _keep_on_failure(booted: Booted, request: pytest.FixtureRequest) -> None:
    if request.session.testsfailed:
        print(f"\n{booted.run.node.name}: artifacts kept in {booted.run.keep_artifacts()}")


@pytest.fixture(scope="module")
def ec2(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
        wheel: Path) -> Iterator[Booted]:
    node = Node("ec2", "aws", _user_data("kindling-ec2-node", aws=True), sysctl_keys=tuple(SYSCTLS))
    booted = _boot(node, tmp_path_factory.mktemp("ec2"), wheel)
    yield booted
    _keep_on_failure(booted, request)


@pytest.fixture(scope="module")
def ec2_failing(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
                wheel: Path) -> Iterator[Booted]:
    node = Node("ec2-failing", "aws", _user_data("kindling-ec2-failing", aws=True), failing_unit=True)
    booted = _boot(node, tmp_path_factory.mktemp("ec2-failing"), wheel)
    yield booted
    _keep_on_failure(booted, request)


@pytest.fixture(scope="module")
def vmware(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
           wheel: Path) -> Iterator[Booted]:
    node = Node("vmware", "vmware", gzip.compress(_user_data("kindling-vmware-node", aws=False)),
                sysctl_keys=tuple(SYSCTLS))
    booted = _boot(node, tmp_path_factory.mktemp("vmware"), wheel)
    yield booted
    _keep_on_failure(booted, request)


# -- the order systemd kept --------------------------------------------------------------

def _stages_for(platform: str) -> list[Stage]:
    return [s for s in order_stages(load_stages())
            if s.unit and (s.platforms is None or platform in s.platforms)]


def _ran(spans: dict[str, Span], unit: str) -> bool:
    """Started and really ran (a unit skipped by its condition starts and ends at once)."""
    span = spans.get(unit)
    return span is not None and span.result == "done" and span.end > span.start


def _order_violations(spans: dict[str, Span], platform: str) -> list[str]:
    stages = _stages_for(platform)
    out = []
    for i, a in enumerate(stages):
        for b in stages[i + 1:]:
            assert a.unit and b.unit
            if not (_ran(spans, a.unit) and _ran(spans, b.unit)):
                continue
            sa, sb = spans[a.unit], spans[b.unit]
            ordered = a.name in b.after or a.order // 10 < b.order // 10
            # cfsignal judges the settled boot, after warm-pool-wait let it settle;
            # lifecycle-complete may answer during a warm-up (the group waits for it).
            consumer = a.name == "warm-pool-wait" and b.name == "cfsignal"
            if consumer and sa.end > sb.end:
                out.append(f"{b.unit} ended before {a.unit} ({sb.end / 1e6:.2f} s < {sa.end / 1e6:.2f} s)")
            elif ordered and not consumer and a.order // 10 < 6 and sb.start < sa.end:
                out.append(f"{b.unit} started at {sb.start / 1e6:.2f} s, before {a.unit} ended "
                           f"({sa.end / 1e6:.2f} s)")
    return out


def _assert_common(booted: Booted, platform: str, hostname: str) -> None:
    run = booted.run
    assert run.section("is-system-running").strip() == "running", run.section("failed")
    ran = [s.unit for s in _stages_for(platform) if s.unit and _ran(booted.spans, s.unit)]
    for unit in ("kindling-generate-network-config.service", "kindling-write-network-status.service",
                 "kindling-early-boot-config.service", "kindling-settings-applier.service",
                 "kindling-growpart.service"):
        assert unit in ran, f"{unit} did not run: {booted.spans.get(unit)}"
    assert _order_violations(booted.spans, platform) == []
    # systemd-networkd applies the file netdog generated, with slirp's DHCP lease.
    net = run.section("networkctl")
    assert "Network File: /etc/systemd/network/10-eth0.network" in net, net
    assert "(configured)" in net and "10.0.2.15 (DHCP4" in net, net
    assert run.root.read("/etc/systemd/network/10-eth0.network") is not None
    assert (run.root.read("/var/lib/kindling/netdog/current_ip") or b"").strip() == b"10.0.2.15"
    # DNS and proxy settings took effect (resolved answers with them; proxy.env written).
    assert "10.0.2.3" in run.section("resolvectl") and "vmtest.internal" in run.section("resolvectl")
    proxy = run.section("proxy-env")
    assert "HTTPS_PROXY=http://10.0.2.2:3128" in proxy and "10.0.2.101" in proxy, proxy
    assert hostname in (run.root.read("/etc/motd") or b"").decode()
    appliers = {ep.name for ep in entry_points("kindling.appliers")}
    if any("hostname" in name for name in appliers):
        assert run.section("hostname").strip() == hostname
    if any("sysctl" in name for name in appliers):
        for key, value in SYSCTLS.items():
            assert f"{key} = {value}" in run.section("sysctl"), run.section("sysctl")
    # growpart grew the data partition to the end of its 1 GiB disk, and its ext4.
    (part,) = run.data.partitions()
    assert part.name == "KINDLING-DATA" and part.size_bytes > 1000 * 1024 * 1024, part
    run.data.verify_gpt()
    assert run.data.fs_size_bytes() > 1000 * 1024 * 1024
    run.data.fsck()
    # The guest's journal is on its disk too (persistent), as the host finds it afterwards.
    assert run.root.listdir("/var/log/journal"), "no persistent journal in the image"


def test_ec2_node_boots_under_systemd_and_signals_success(ec2: Booted) -> None:
    _assert_common(ec2, "aws", "kindling-ec2-node")
    log = ec2.run.section("kindling-log")
    assert "provider=ec2-imds source=IMDS user-data" in log, log[-3000:]
    actions = [action for action, _ in ec2.calls]
    assert actions.count("SignalResource") == 1, actions
    signal = next(p for a, p in ec2.calls if a == "SignalResource")
    assert signal["Status"] == "SUCCESS" and signal["UniqueId"] == "i-0123456789abcdef0"
    complete = [p for a, p in ec2.calls if a == "CompleteLifecycleAction"]
    assert complete and complete[-1]["LifecycleActionResult"] == "CONTINUE", ec2.calls
    # warm-pool-wait polled until IMDS said InService, and held the boot until then.
    assert ec2.state_polls >= 2
    assert _ran(ec2.spans, "kindling-warm-pool-wait.service")
    # cfsignal answered only once systemd had finished starting up (`running`).
    finished = startup_finished(ec2.run.section("journal"))
    assert finished is not None
    assert ec2.spans["kindling-cfsignal.service"].end >= finished, (ec2.spans["kindling-cfsignal.service"], finished)
    assert _ran(ec2.spans, "kindling-lifecycle-complete.service")
    assert ec2.run.root.read("/var/lib/kindling/cfsignal.ran") is not None
    ec2.run.root.fsck()


def test_ec2_node_with_a_failing_unit_signals_failure(ec2_failing: Booted) -> None:
    run = ec2_failing.run
    assert run.section("is-system-running").strip() == "degraded"
    assert "vmtest-broken.service" in run.section("failed")
    signal = [p for a, p in ec2_failing.calls if a == "SignalResource"]
    assert len(signal) == 1 and signal[0]["Status"] == "FAILURE", ec2_failing.calls
    complete = [p for a, p in ec2_failing.calls if a == "CompleteLifecycleAction"]
    assert complete and complete[-1]["LifecycleActionResult"] == "ABANDON", ec2_failing.calls


def test_vmware_node_boots_from_the_ovf_cdrom(vmware: Booted) -> None:
    _assert_common(vmware, "vmware", "kindling-vmware-node")
    log = vmware.run.section("kindling-log")
    assert "provider=vmware-cd-rom" in log, log[-3000:]
    assert "user data found provider=vmware-guestinfo" not in log
    assert vmware.calls == []
