"""`kindling <command> …`: lazy dispatch by name (DESIGN §1, §4, §8).

The table below names the module of each command; nothing is imported until a
command is chosen, so `kindling --help` costs little more than the interpreter. The
CLI is the only place that catches every `KindlingError`: it prints the message and
exits 1 (usage errors: 2). It is also the last resort for every other exception (a
bug, an `OSError` nobody expected): one line naming its kind, secrets scrubbed and
control characters escaped, exit 1 — a user never sees a Python traceback.

That line goes through the logger, so it carries `<3>` when stderr is the journal and
is a JSON record (with `source`, `key`, `kind`, `exit`) under `--log-format json`; with
`--json` the failure envelope (`kindling.envelope`) is printed on stdout too. Both
options are read here before the command parses its own, so usage errors answer in the
format asked for, and under `--log-format json` a guard wraps whatever else reaches
stderr (argparse's usage text) as JSON records.
"""

from __future__ import annotations

import sys

__all__ = ["COMMANDS", "main", "run"]

# command -> (module with `main(argv) -> int`, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "boot": ("kindling.boot_cli", "run every boot stage in order (--plan, --json)"),
    "analyze": ("kindling.analyze", "show the last boot timeline (--svg FILE)"),
    "status": ("kindling.status", "is the boot done, running or failed? per stage, with reasons (--wait)"),
    "support-bundle": ("kindling.support_bundle", "status, timeline, redacted settings, files, journal: one tar.gz"),
    "apiserver": ("kindling.api.server", "serve the settings API on the Unix socket"),
    "apiclient": ("kindling.api.cli", "get / set / apply / raw against the settings API"),
    "early-boot-config": ("early_boot.cli", "read this platform's user data and commit it"),
    "netdog": ("netdog.cli", "network config: net.toml → networkd, netlink apply, DNS, hostname"),
    "growpart": ("growpart.cli", "grow the data partition and its filesystem to fill the disk"),
    "gpu": ("gpu.cli", "detect GPUs / accelerators, choose and link/load NVIDIA modules"),
    "kdump": ("kdump.cli", "crash kernel: plan / load / capture / status"),
    "bootconfig": ("kindling.bootconfig.cli", "show / parse / generate; reboot-if-required"),
    "cfsignal": ("platforms.aws.cli.cfsignal", "signal the CloudFormation stack with the boot's outcome (aws)"),
    "warm-pool-wait": ("platforms.aws.cli.warm_pool_wait", "wait until the warm pool puts us in service (aws)"),
    "lifecycle": ("platforms.aws.cli.lifecycle", "complete: answer the Auto Scaling launch lifecycle hook (aws)"),
    "units": ("kindling.units", "install the systemd units shipped with Kindling"),
    "clean": ("kindling.clean", "re-arm first boot before capturing an image (--first-boot: markers only)"),
    "bootstrap": ("kindling.bootstrap.cli", "run a bootstrap command / bootstrap container / host container"),
    "templates": ("kindling.templates.cli", "list the consumers' configuration templates, render one"),
    "settings": ("kindling.reference.cli", "describe a settings key: type, rule, default, owner, example"),
    "validate": ("kindling.validate.cli", "check user data, net.toml, driver configs, bootconfig offline: every error"),
}


def _usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = [
        "usage: kindling <command> [options]",
        "",
        "Boot and platform services for container hosts (Bottlerocket's, for any node).",
        "",
        "commands:",
        *(f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()),
        "",
        "Every command takes --root DIR (env KINDLING_ROOT); commands that act take --plan.",
        "Run 'kindling <command> --help' for a command's options.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(_usage())
        return 0 if args else 2
    if args[0] == "--version":
        from kindling import __version__

        sys.stdout.write(f"kindling {__version__}\n")
        return 0
    json_out, log_json = _output_options(args)
    entry = COMMANDS.get(args[0])
    if entry is None:
        if not (json_out or log_json):
            sys.stderr.write(f"kindling: unknown command {args[0]!r}\n" + _usage())
            return 2
        from kindling import log
        from kindling.errors import UsageError

        log.configure(fmt="json" if log_json else "text")
        return _fail(args[0], UsageError(f"unknown command {args[0][:64]!r} (see 'kindling --help')"), 2, json_out)
    if not (json_out or log_json):
        return _dispatch(args, entry[0], json_out=False)
    from kindling import log

    if log_json:
        log.configure(fmt="json")
    plain = sys.stderr
    guard = log.StderrGuard(plain, f"kindling {args[0]}", wrap=log_json)
    sys.stderr = guard
    try:
        return _dispatch(args, entry[0], json_out=json_out, guard=guard)
    finally:
        guard.flush()
        sys.stderr = plain


def _dispatch(args: list[str], module_name: str, *, json_out: bool, guard: object = None) -> int:
    from kindling.errors import KindlingError, PlanBoundary, UsageError

    try:
        __import__(module_name)  # importlib.import_module, without importing importlib and warnings
        module = sys.modules[module_name]
        code: int = module.main(args[1:])
        return code
    except PlanBoundary as stop:
        # --plan reached a request or a wait: the plan so far, that step, what follows.
        if json_out:
            from kindling.envelope import emit_result

            emit_result({"plan": True, "stopped_at": _scrub(stop.what),
                         "would": [_scrub(line) for line in stop.lines()]})
            return 0
        sys.stdout.write(f"kindling {args[0]}: plan (nothing was changed, nothing was sent)\n")
        sys.stdout.write("".join(f"    would {_scrub(line)}\n" for line in stop.lines()))
        return 0
    except UsageError as exc:
        return _fail(args[0], exc, 2, json_out)
    except KindlingError as exc:
        return _fail(args[0], exc, 1, json_out)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        if not isinstance(exc.code, int | None):  # sys.exit("why"): a failure with its line
            return _fail(args[0], KindlingError(str(exc.code)), 1, json_out)
        if exc.code == 2 and json_out:
            last = getattr(guard, "last_text", None) or "invalid command line"
            _envelope_failure(args[0], UsageError(last.split(": error: ", 1)[-1]))
        raise
    except Exception as exc:  # the last resort: one line, never a traceback
        return _fail(args[0], exc, 1, json_out)


def _output_options(args: list[str]) -> tuple[bool, bool]:
    """(`--json` given, `--log-format json` given), read before the command parses its
    own options: a usage error or a failure before logging is set up must already
    answer in the format asked for. `apiclient set --json DOC` is Bottlerocket's
    document option, not an output flag, so apiclient never counts it."""
    json_out = log_json = False
    for index, arg in enumerate(args[1:], start=1):
        if arg == "--":
            break
        if arg == "--json" and args[0] != "apiclient":
            json_out = True
        elif arg == "--log-format=json" or (arg == "--log-format" and args[index + 1:index + 2] == ["json"]):
            log_json = True
    return json_out, log_json


def _fail(command: str, exc: BaseException, code: int, json_out: bool) -> int:
    """The one line of a fatal error, through the logger (`<3>` under journald, a JSON
    record with `source` and `key` under `--log-format json`); with `--json` also the
    failure envelope on stdout."""
    from kindling.envelope import error_fields, log_failure

    fields = error_fields(exc, command=f"kindling {command}")
    log_failure(f"kindling {command}", fields, code)
    if json_out:
        _envelope_failure(command, exc, fields)
    return code


def _envelope_failure(command: str, exc: BaseException, fields: dict[str, object] | None = None) -> None:
    from kindling.envelope import emitted, error_envelope, error_fields, write_envelope

    if not emitted():
        write_envelope(error_envelope(fields or error_fields(exc, command=f"kindling {command}")))


def _scrub(text: str) -> str:
    """Secrets out, control characters escaped: the line may name keys from input."""
    from kindling.log import printable, scrub

    return printable(scrub(text))


def run() -> None:
    """The console script: `main`, then `os._exit` once output is flushed and the
    datastore closed. Interpreter teardown (module and object finalisation) cost a
    one-shot command 13-28 ms and does nothing a finished command needs."""
    try:
        code = main()
    except SystemExit as exc:  # argparse's --help and usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            sys.stderr.write(f"{exc.code}\n")
    finish(code)


def finish(code: int) -> None:
    import os

    service = sys.modules.get("kindling.api.service")
    if service is not None:
        service.release_thread_stores()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the output is lost either way
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    run()
