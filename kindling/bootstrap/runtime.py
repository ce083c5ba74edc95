"""Which container runtime runs bootstrap and host containers, and with which argv.

`/etc/kindling/containers.toml` (optional) chooses it:

    runtime = "auto"      # auto (podman if installed, else ctr) | podman | ctr
    podman-args = []      # global options before `run`, e.g. ["--root", "/var/lib/x"]
    ctr-args = []         # e.g. ["--address", "/run/containerd/containerd.sock"]
    run-args = []         # extra `run` options, e.g. ["--ulimit", "nofile=1024:1024"]

What a container sees is Bottlerocket's: its persistent directory at
`/.bottlerocket/<kind>/current` and `/.bottlerocket/<kind>/<name>` (with the decoded
`user-data` file there), the host network, and for bootstrap and superpowered host
containers the host root at `/.bottlerocket/rootfs`; bootstrap containers get
CAP_SYS_ADMIN and every device. Everything is argv, never a shell line.
"""

from __future__ import annotations

import os

from kindling.errors import InputError
from kindling.host import Host
from kindling.nesting import TomlError, loads_toml
from kindling.record import record

__all__ = ["CONFIG_PATH", "ContainerSpec", "RuntimeConfig", "load_runtime_config", "run_argv", "state_dir"]

CONFIG_PATH = "/etc/kindling/containers.toml"
STATE_ROOT = "/var/lib/kindling"
RUNTIMES = ("auto", "podman", "ctr")


@record(frozen=True)
class RuntimeConfig:
    runtime: str = "auto"
    podman_args: tuple[str, ...] = ()
    ctr_args: tuple[str, ...] = ()
    run_args: tuple[str, ...] = ()


@record(frozen=True)
class ContainerSpec:
    """One container to run: `kind` is bootstrap-containers or host-containers."""

    kind: str
    name: str
    source: str
    privileged: bool  # bootstrap: CAP_SYS_ADMIN + devices + rootfs; host: superpowered
    command: tuple[str, ...] = ()


def _args(data: dict[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and "\n" not in v for v in value):
        raise InputError(f"{key}: expected a list of single-line strings", source=CONFIG_PATH)
    return tuple(value)


def parse_runtime_config(text: str) -> RuntimeConfig:
    try:
        data = loads_toml(text, source=CONFIG_PATH)
    except TomlError as exc:
        raise InputError(f"not valid TOML: {exc}", source=CONFIG_PATH) from None
    unknown = sorted(set(data) - {"runtime", "podman-args", "ctr-args", "run-args"})
    if unknown:
        raise InputError(f"{unknown[0]}: unknown key", source=CONFIG_PATH)
    runtime = data.get("runtime", "auto")
    if runtime not in RUNTIMES:
        raise InputError("runtime: one of auto, podman, ctr", source=CONFIG_PATH)
    return RuntimeConfig(str(runtime), _args(data, "podman-args"), _args(data, "ctr-args"), _args(data, "run-args"))


def load_runtime_config(host: Host) -> RuntimeConfig:
    text = host.read_optional(CONFIG_PATH)
    return parse_runtime_config(text) if text is not None else RuntimeConfig()


def choose_runtime(host: Host, config: RuntimeConfig) -> str:
    """podman or ctr: the configured one, else the first installed (podman first)."""
    path = host.env.get("PATH", os.defpath)
    if config.runtime != "auto":
        return config.runtime
    import shutil  # ~1.6 ms (bz2, lzma): only a container launch asks, not the boot's appliers

    for name in ("podman", "ctr"):
        if shutil.which(name, path=path):
            return name
    raise InputError("no container runtime: install podman or containerd (ctr), or set runtime",
                     source=CONFIG_PATH)


def state_dir(kind: str, name: str) -> str:
    """The container's persistent directory on the host (under Kindling's state)."""
    return f"{STATE_ROOT}/{kind}/{name}"


def _mounts(host: Host, spec: ContainerSpec) -> list[tuple[str, str, str]]:
    """(host path, container path, options) — host paths are real, under the root."""
    own = str(host.path(state_dir(spec.kind, spec.name)))
    mounts = [(own, f"/.bottlerocket/{spec.kind}/current", "rw"),
              (own, f"/.bottlerocket/{spec.kind}/{spec.name}", "rw")]
    api = host.path("/run/kindling")
    if api.is_dir():
        mounts.append((str(api), "/run/kindling", "rw"))  # apiclient inside the container
    if spec.privileged:
        mounts.append((str(host.path("/")), "/.bottlerocket/rootfs", "rw"))
    return mounts


def run_argv(host: Host, spec: ContainerSpec, runtime: str, config: RuntimeConfig) -> list[str]:
    """The argv that runs `spec` in the foreground and removes it when it exits."""
    bootstrap = spec.kind == "bootstrap-containers"
    cname = f"kindling-{'bootstrap' if bootstrap else 'host'}-{spec.name}"
    if runtime == "podman":
        argv = ["podman", *config.podman_args, "run", "--rm", "--replace", "--name", cname,
                "--network", "host", "--security-opt", "label=disable"]
        if bootstrap:
            argv += ["--cap-add", "SYS_ADMIN", "--device-cgroup-rule", "a *:* rwm", "-v", "/dev:/dev"]
        elif spec.privileged:
            argv += ["--privileged", "--pid", "host"]
        for src, dst, opts in _mounts(host, spec):
            argv += ["-v", f"{src}:{dst}:{opts}"]
        return [*argv, *config.run_args, spec.source, *spec.command]
    argv = ["ctr", *config.ctr_args, "run", "--rm", "--net-host"]
    if bootstrap:
        argv += ["--cap-add", "CAP_SYS_ADMIN", "--mount", "type=bind,src=/dev,dst=/dev,options=rbind:rw"]
    elif spec.privileged:
        argv += ["--privileged"]
    for src, dst, opts in _mounts(host, spec):
        argv += ["--mount", f"type=bind,src={src},dst={dst},options=rbind:{opts}"]
    return [*argv, *config.run_args, spec.source, cname, *spec.command]


def pull_argv(spec: ContainerSpec, runtime: str, config: RuntimeConfig) -> list[str] | None:
    """ctr runs only images already in its store: pull first (podman pulls on run)."""
    if runtime == "ctr":
        return ["ctr", *config.ctr_args, "images", "pull", spec.source]
    return None
