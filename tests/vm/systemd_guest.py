"""A node that boots real systemd with Kindling's units (or cloud-init), under qemu TCG.

The root is the cached Debian tree of tests/vm/rootfs.py; each node adds, as a user
would: the wheel built from this checkout installed into the guest's venv (so a
checkout anywhere on disk works: nothing of the host is shared with the guest),
`kindling units install --enable` (units + preset), systemd-networkd and resolved.
The kernel command line carries `netdog.default-interface=eth0:dhcp4`, as
Bottlerocket's does. The network is slirp only (`restrict=on`: no route anywhere);
the IMDS emulator and the AWS endpoint stand-in listen on the host's 127.0.0.1 and
are reached through `guestfwd` relays (tests/vm/relay.py) at 10.0.2.100 and
10.0.2.101; a test-only unit DNATs 169.254.169.254:80 to 10.0.2.100 inside the guest
(slirp refuses a guestfwd outside its own network), so the guest uses the real IMDS
address and nothing on the host's network ever sees it (RIGS.md).

What the test asserts comes from two places: the report a test-only unit writes to
the second serial port once the boot settled (tests/vm/report.sh), and the disk
images read afterwards without the guest (tests/vm/disk.py).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.vm.disk import DiskImage, make_disk, make_ovf_iso
from tests.vm.initramfs import build_initramfs
from tests.vm.kernel import fetch_kernel
from tests.vm.qemu import GuestRun, run_guest
from tests.vm.rootfs import (
    BASE_PACKAGES,
    CLOUD_INIT_PACKAGES,
    GUEST_VENV,
    build_wheel,
    chroot,
    guest_root,
    image_from_tree,
    put,
    staging_copy,
)

__all__ = [
    "AWS_IP",
    "IMDS_IP",
    "Node",
    "NodeRun",
    "Span",
    "aws_stand_ins",
    "boot_node",
    "cloud_config",
    "kindling_units",
    "parse_report",
    "startup_finished",
    "unit_spans",
]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = REPO / "vm-artifacts"
IMDS_IP = "10.0.2.100"
AWS_IP = "10.0.2.101"
INSTANCE_ID = "i-0123456789abcdef0"
ROLE_KEY = "ASIAVMGUESTKEY000001"
ROLE_SECRET = "vm-guest-role-secret-do-not-print"
ROLE_TOKEN = "vm-guest-role-token-do-not-print"
ROOT_MIB = 2048
DATA_DISK_MIB = 1024
DATA_PART_MIB = 256
GUEST_TIMEOUT = 420.0  # seconds per boot; the guest is killed and reported past it
# As on a Nitro instance the serial number is the uuid: cloud-init's identify_aws() wants
# one of the two (uuid == serial, or /sys/hypervisor/uuid, absent under TCG) before it calls
# the node AWS and fetches an IMDSv2 token; without it cloud-init asks IMDSv1 and gets 401.
_EC2_UUID = "ec2e1916-9099-7caf-fd21-012345abcdef"
EC2_SMBIOS = f"type=1,manufacturer=Amazon EC2,product=m5.large,uuid={_EC2_UUID},serial={_EC2_UUID}"
VMWARE_SMBIOS = "type=1,manufacturer=VMware,, Inc.,product=VMware Virtual Platform"
MASKED = ("e2scrub_reap.service", "e2scrub_all.timer", "fstrim.timer", "apt-daily.timer",
          "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "getty@tty1.service")
INITRD_MODULES = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"]


@dataclass(frozen=True)
class Node:
    """One guest boot: platform, user data, and what makes it different."""

    name: str
    platform: str  # "aws" | "vmware"
    user_data: bytes
    cloud_init: bool = False  # the peer image: Debian's cloud-init instead of Kindling's units
    failing_unit: bool = False  # a unit that fails: the boot ends degraded
    sysctl_keys: tuple[str, ...] = ()


@dataclass
class NodeRun:
    node: Node
    workdir: Path
    root: DiskImage
    data: DiskImage
    guest: GuestRun
    report_path: Path
    build_seconds: float
    kept: Path | None = None
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def report(self) -> str:
        return self.report_path.read_text(errors="replace") if self.report_path.exists() else ""

    def section(self, name: str) -> str:
        return self.sections.get(name, "")

    def keep_artifacts(self) -> Path:
        """Console, report and the guest's journal files into vm-artifacts/ (once)."""
        if self.kept is None:
            dest = ARTIFACTS / f"{time.strftime('%Y%m%dT%H%M%S')}-{self.node.name}"
            dest.mkdir(parents=True, exist_ok=True)
            for path in (self.guest.console, self.report_path):
                if path.exists():
                    shutil.copy2(path, dest / path.name)
            for machine in self.root.listdir("/var/log/journal"):
                for name in self.root.listdir(f"/var/log/journal/{machine}"):
                    self.root.dump(f"/var/log/journal/{machine}/{name}", dest / name)
            self.kept = dest
        return self.kept


def kindling_units() -> list[str]:
    """The shipped unit names (what the preset enables and the report follows)."""
    from kindling.units import shipped_units

    return sorted(shipped_units())


def parse_report(text: str) -> dict[str, str]:
    """`=== NAME` ... `=== end rc=N` sections of the report → {name: output}."""
    out: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("=== "):
            head = line[4:]
            if head.startswith("end rc=") and current is not None:
                out[current] = "\n".join(lines)
                out[current + ":rc"] = head[len("end rc="):]
                current = None
            elif current is None and not re.match(r"(start|settled|waited|done) ", head):
                current, lines = head, []
            elif current is None:
                word, _, rest = head.partition(" ")
                out[word] = rest
            continue
        if current is not None:
            lines.append(line)
    return out


# PID 1's catalogue message ids (systemd's catalog/systemd.catalog.in).
JOB_STARTING = "7d4958e842da4a758f6c1cdc7b36dcc5"
JOB_DONE = "39f53479d3a045ac8e11786248231fbf"
UNIT_DEACTIVATED = "7ad2d189f7e94e70a38c781354912448"
STARTUP_FINISHED = "b07a249cd024414a82dd00cd181378ff"


@dataclass(frozen=True)
class Span:
    """A unit's life in this boot, from PID 1's journal (µs since boot)."""

    start: int  # its start job began ("Starting …", or "Started …" for Type=simple)
    end: int  # it finished: the start job done, or (a service that exits) deactivated
    result: str  # the start job's result: done, failed, skipped (condition), ...


def unit_spans(journal: str) -> dict[str, Span]:
    """Start and end of every unit PID 1 logged about, from `journalctl -o json _PID=1`."""
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    results: dict[str, str] = {}
    for line in journal.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        unit, mid = entry.get("UNIT"), entry.get("MESSAGE_ID")
        if not unit or mid not in (JOB_STARTING, JOB_DONE, UNIT_DEACTIVATED):
            continue
        t = int(entry["__MONOTONIC_TIMESTAMP"])
        if mid in (JOB_STARTING, JOB_DONE) and entry.get("JOB_TYPE", "start") == "start":
            starts.setdefault(unit, t)
        if mid == JOB_DONE and entry.get("JOB_TYPE") == "start":
            results[unit] = entry.get("JOB_RESULT", "")
        if mid in (JOB_DONE, UNIT_DEACTIVATED):
            ends[unit] = max(ends.get(unit, 0), t)
    return {u: Span(starts[u], ends.get(u, starts[u]), results.get(u, "")) for u in starts}


def startup_finished(journal: str) -> int | None:
    """When the boot's jobs were all done (PID 1's "Startup finished"), µs since boot."""
    for line in journal.splitlines():
        if line.startswith("{") and STARTUP_FINISHED in line:
            return int(json.loads(line)["__MONOTONIC_TIMESTAMP"])
    return None


@contextmanager
def aws_stand_ins(user_data: bytes, *, warm_polls: int = 1) -> Iterator[tuple[object, object]]:
    """The IMDS emulator and the CloudFormation / Auto Scaling stand-in, on 127.0.0.1.

    The instance starts in the warm pool's `Warmed:Running` state; after `warm_polls`
    reads of its target lifecycle state IMDS answers `InService`, so warm-pool-wait
    has to poll, and the group holds a launch lifecycle action for `launch-hook`.
    """
    import threading

    from tests.imds_emulator import ImdsEmulator
    from tests.platforms.aws.aws_endpoint import AwsEndpoint

    state_path = "meta-data/autoscaling/target-lifecycle-state"
    with ImdsEmulator() as imds, AwsEndpoint() as endpoint:
        imds.set("meta-data/instance-id", INSTANCE_ID)
        imds.identity("us-west-2")
        imds.set("meta-data/iam/security-credentials/", "node-role\n")
        imds.set("meta-data/iam/security-credentials/node-role", json.dumps({
            "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": ROLE_KEY, "SecretAccessKey": ROLE_SECRET,
            "Token": ROLE_TOKEN, "Expiration": "2099-01-01T00:00:00Z"}))
        imds.set("user-data", user_data)
        imds.set(state_path, "Warmed:Running")
        endpoint.add_key(ROLE_KEY, ROLE_SECRET, ROLE_TOKEN)
        endpoint.add_stack("node-stack", "NodeGroup")
        endpoint.add_instance(INSTANCE_ID, "node-asg", "Pending:Wait", hook="launch-hook")
        stop = threading.Event()

        def flip() -> None:
            while not stop.wait(0.2):
                if imds.count("GET", state_path) >= warm_polls:
                    imds.set(state_path, "InService")
                    return

        flipper = threading.Thread(target=flip, daemon=True)
        flipper.start()
        try:
            yield imds, endpoint
        finally:
            stop.set()
            flipper.join(timeout=2)


def _units_text(node: Node, wait_units: list[str]) -> dict[str, str]:
    """Test-only files of the image: the report unit, the IMDS redirect, the failure."""
    files = {
        "/usr/local/sbin/vmtest-report": (HERE / "report.sh").read_text(),
        "/etc/vmtest/report.env": (
            f"WAIT_UNITS='{' '.join(wait_units)}'\n"
            f"SYSCTL_KEYS='{' '.join(node.sysctl_keys)}'\n"
        ),
        "/etc/systemd/system/vmtest-report.service": (
            "[Unit]\nDescription=vmtest: report the settled boot on ttyS1, then power off\n"
            "After=multi-user.target\n\n[Service]\n# simple: the boot job ends at once, so the system can\n"
            "# reach `running` while this waits for it.\nType=simple\nExecStart=/usr/local/sbin/vmtest-report\n\n"
            "[Install]\nWantedBy=multi-user.target\n"
        ),
    }
    if node.platform == "aws":
        files["/etc/vmtest/imds.nft"] = (
            "table ip vmtest {\n  chain output {\n    type nat hook output priority -100; policy accept;\n"
            f"    ip daddr 169.254.169.254 tcp dport 80 dnat to {IMDS_IP}:80\n  }}\n}}\n"
        )
        files["/etc/systemd/system/vmtest-imds-redirect.service"] = (
            "[Unit]\nDescription=vmtest: 169.254.169.254:80 is the host's IMDS emulator (via slirp)\n"
            "DefaultDependencies=no\nAfter=systemd-modules-load.service\nBefore=network-pre.target\n"
            "Wants=network-pre.target\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
            "ExecStart=/usr/sbin/nft -f /etc/vmtest/imds.nft\n\n[Install]\nWantedBy=sysinit.target\n"
        )
        # The redirect happens after the route lookup: without a default route (restrict=on)
        # the IMDS address needs one of its own, as netdog's file for eth0 gets it here.
        for network in ("10-eth0.network", "10-cloud-init-eth0.network"):  # netdog's, cloud-init's
            files[f"/etc/systemd/network/{network}.d/90-vmtest-imds.conf"] = (
                "[Route]\nDestination=169.254.169.254/32\nScope=link\n"
            )
        # The stand-ins answer plain HTTP on the slirp side; everything else is AWS's.
        files["/etc/systemd/system.conf.d/vmtest-aws.conf"] = (
            "[Manager]\nDefaultEnvironment="
            f"AWS_ENDPOINT_URL_CLOUDFORMATION=http://{AWS_IP} AWS_ENDPOINT_URL_AUTO_SCALING=http://{AWS_IP}\n"
        )
    else:
        # A VMware VM without guestinfo: the rpctool answers "No value found" (qemu has
        # no VMware RPC channel for open-vm-tools' real one).
        files["/usr/local/bin/vmware-rpctool"] = (HERE / "vmware-rpctool-absent").read_text()
    if node.failing_unit:
        files["/etc/systemd/system/vmtest-broken.service"] = (
            "[Unit]\nDescription=vmtest: a workload unit that fails\n\n[Service]\nType=oneshot\n"
            "ExecStart=/bin/false\n\n[Install]\nWantedBy=multi-user.target\n"
        )
    return files


def _cloud_init_files(node: Node) -> dict[str, str]:
    """cloud-init's side: the Ec2 datasource against the same emulator, networkd as its
    renderer, and no locale module (minbase has no locales: it would fail the boot)."""
    return {
        "/etc/cloud/cloud.cfg.d/90-vmtest.cfg": (
            "datasource_list: [Ec2, None]\n"
            "datasource:\n  Ec2:\n    timeout: 5\n    max_wait: 60\n"
            "    metadata_urls: ['http://169.254.169.254']\n"
            "system_info:\n  network:\n    renderers: [networkd]\n"
            "locale: false\n"
        ),
    }


def cloud_config(hostname: str, sysctls: dict[str, str]) -> bytes:
    """cloud-init user data equivalent to the Kindling nodes' TOML: hostname, DNS,
    proxy env, sysctls, motd, and the data partition grown with its filesystem."""
    sysctl_text = "".join(f"{k} = {v}\\n" for k, v in sysctls.items())
    return (
        "#cloud-config\n"
        f"hostname: {hostname}\n"
        "write_files:\n"
        "  - path: /etc/network/proxy.env\n"
        "    content: \"HTTPS_PROXY=http://10.0.2.2:3128\\nNO_PROXY=10.0.2.100,10.0.2.101,localhost\\n\"\n"
        "  - path: /etc/sysctl.d/90-vmtest.conf\n"
        f"    content: \"{sysctl_text}\"\n"
        "  - path: /etc/systemd/resolved.conf.d/10-vmtest.conf\n"
        "    content: \"[Resolve]\\nDNS=10.0.2.3\\nDomains=vmtest.internal\\n\"\n"
        "  - path: /etc/motd\n"
        f"    content: \"booted by cloud-init under systemd ({hostname})\\n\"\n"
        "growpart:\n  mode: auto\n  devices: [/dev/vdb1]\n"
        "runcmd:\n  - [sysctl, --system]\n  - [resize2fs, /dev/vdb1]\n"
        "  - [systemctl, try-restart, systemd-resolved]\n"
    ).encode()


def _stage_root(node: Node, workdir: Path, wheel: Path) -> Path:
    kernel = fetch_kernel()
    tree = guest_root(kernel, CLOUD_INIT_PACKAGES if node.cloud_init else BASE_PACKAGES)
    root = staging_copy(tree, workdir / "root")
    put(root, f"/root/{wheel.name}", wheel.read_bytes())
    chroot(root, f"{GUEST_VENV}/bin/pip", "install", "-q", "--no-deps", "--no-index", "--no-cache-dir",
           "--disable-pip-version-check", f"/root/{wheel.name}")
    (root / "root" / wheel.name).unlink()
    put(root, "/etc/hostname", "localhost\n")
    put(root, "/etc/hosts", "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
    wait = ["kindling-cfsignal.service", "kindling-lifecycle-complete.service"]
    if node.cloud_init:
        wait = ["cloud-final.service"]
        for path, text in _cloud_init_files(node).items():
            put(root, path, text)
    else:
        # As a user installs it: the console script of the venv names itself in ExecStart=.
        chroot(root, f"{GUEST_VENV}/bin/kindling", "units", "install", "--enable")
    for path, text in _units_text(node, wait).items():
        put(root, path, text, mode=0o755 if "/bin/" in path or "/sbin/" in path else 0o644)
    enable = ["systemd-networkd.service", "systemd-resolved.service", "vmtest-report.service"]
    if node.platform == "aws":
        enable.append("vmtest-imds-redirect.service")
    if node.failing_unit:
        enable.append("vmtest-broken.service")
    chroot(root, "systemctl", "enable", "--quiet", *enable)
    # Nothing a fresh node needs in its first minutes (each costs seconds under emulation).
    chroot(root, "systemctl", "mask", "--quiet", *MASKED)
    if not node.cloud_init:
        # netdog writes the network configuration; Debian's own would race it.
        for extra in ("80-container-host0.network", "80-container-ve.network"):
            (root / "usr/lib/systemd/network" / extra).unlink(missing_ok=True)
    return root


def boot_node(node: Node, workdir: Path, *, wheel: Path | None = None, imds_port: int | None = None,
              aws_port: int | None = None, timeout: float = GUEST_TIMEOUT) -> NodeRun:
    """Build the node's disks, boot it once (to its own poweroff or the deadline)."""
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    kernel = fetch_kernel()
    wheel = wheel or build_wheel(REPO, workdir / "wheel")
    root_tree = _stage_root(node, workdir, wheel)
    root = DiskImage(image_from_tree(root_tree, workdir / "root.img", ROOT_MIB), 0)
    shutil.rmtree(root_tree)
    empty = workdir / "data-skel"
    empty.mkdir(exist_ok=True)
    data = make_disk(workdir / "data.img", empty, disk_mib=DATA_DISK_MIB, part_mib=DATA_PART_MIB)
    initrd = build_initramfs(kernel, workdir, {}, init=HERE / "init-systemd.sh", modules=INITRD_MODULES, tools=[])
    cdrom = make_ovf_iso(workdir / "ovf.iso", node.user_data) if node.platform == "vmware" else None
    build_seconds = time.monotonic() - started
    relay = f"{sys.executable} -S {HERE / 'relay.py'}"
    netdev = "user,id=n0,restrict=on"
    if imds_port is not None:
        netdev += f",guestfwd=tcp:{IMDS_IP}:80-cmd:{relay} {imds_port}"
    if aws_port is not None:
        netdev += f",guestfwd=tcp:{AWS_IP}:80-cmd:{relay} {aws_port}"
    report = workdir / "report.txt"
    smbios = EC2_SMBIOS if node.platform == "aws" else VMWARE_SMBIOS
    extra = ["-serial", f"file:{report}", "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0",
             "-smbios", smbios]
    append = ("root=/dev/vda rw console=ttyS0 panic=-1 net.ifnames=0 "
              "netdog.default-interface=eth0:dhcp4 systemd.show_status=1")
    guest = run_guest(kernel=kernel.vmlinuz, initrd=initrd, append=append, disk=root.path, cdrom=cdrom,
                      console=workdir / "console.log", timeout=timeout, memory_mib=1024, cpus=2,
                      share_host_root=False, disks=[data.path], extra=extra)
    run = NodeRun(node, workdir, root, data, guest, report, build_seconds)
    run.sections = parse_report(run.report)
    return run
