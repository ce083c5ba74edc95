"""`kindling bootconfig show|parse|generate|reboot-if-required` (DESIGN §4): wiring only."""

from __future__ import annotations

import argparse
import os
import sys

from kindling import log
from kindling.cli_common import add_common, emit_document, emit_json, host_from_args
from kindling.errors import NotFoundError, UsageError
from kindling.host import Host

__all__ = ["build_parser", "main"]

_log = log.get("bootconfig")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kindling bootconfig", description=(
        "Kernel bootconfig: show it, turn it into boot settings, generate "
        "bootconfig.data from settings, reboot to reconcile."))
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print a bootconfig (default /proc/bootconfig)")
    show.add_argument("file", nargs="?", help="bootconfig text, bootconfig.data or an initrd")
    show.add_argument("--format", choices=("compact", "list", "canonical"), default="compact",
                      help="compact: tools/bootconfig style; list: /proc/bootconfig style")
    add_common(show, acts=False)
    parse = sub.add_parser("parse", help="boot settings from /proc/bootconfig (or FILE)")
    parse.add_argument("file", nargs="?", help="bootconfig text, bootconfig.data or an initrd "
                       "(default /proc/bootconfig)")
    parse.add_argument("--commit", action="store_true",
                       help="commit them into settings.boot (and run the appliers)")
    parse.add_argument("--if-unset", action="store_true",
                       help="with --commit: only when settings.boot has no parameters yet "
                       "(Bottlerocket's setting generator)")
    add_common(parse)
    gen = sub.add_parser("generate", help="write bootconfig.data from settings.boot")
    gen.add_argument("--output", help="where to write (default /var/lib/kindling/bootconfig.data)")
    add_common(gen)
    reboot = sub.add_parser("reboot-if-required",
                            help="reboot if boot parameters differ and reboot-to-reconcile")
    add_common(reboot)
    install = sub.add_parser(
        "install", help="carry boot settings to the kernel through the boot loader",
        description=(
            "Put settings.boot into the boot loader: parameters the kernel reads early "
            "(crashkernel=, mem=, nosmt, ...) and, on kernels without bootconfig support, "
            "all kernel parameters go on its command line (GRUB: "
            "/etc/default/grub.d/90-kindling.cfg + grub-mkconfig; systemd-boot: the BLS "
            "entries' options); the rest travels in bootconfig.data attached to the initrd "
            "(initramfs-tools / dracut hooks). Prints which mechanism carries each parameter "
            "and whether a reboot is needed. Example: kindling bootconfig install --plan"))
    install.add_argument("--loader", choices=("auto", "grub", "systemd-boot", "none"),
                         help="use this boot loader instead of detecting it "
                         "(default: settings.boot.loader, else auto)")
    install.add_argument("--initrd", metavar="FILE",
                         help="only attach bootconfig.data to FILE (what the initramfs hooks run)")
    install.add_argument("--kernel-release", metavar="KVER",
                         help="with --initrd: the kernel FILE belongs to")
    add_common(install)
    return parser


def _read_config_file(host: Host, path: str | None) -> tuple[str | None, str]:
    """(text or None when absent, source name): plain text, bootconfig.data or initrd."""
    from kindling.bootconfig.footer import split_footer
    from kindling.bootconfig.service import PROC_BOOTCONFIG

    where = os.path.abspath(path) if path else PROC_BOOTCONFIG
    if not host.exists(where):
        if path:
            raise UsageError(f"{path}: no such file")
        return None, where
    data = host.read_bytes(where, limit=64 * 1024 * 1024)
    _, text = split_footer(data, source=where)
    if text is None:
        text = data.decode("utf-8", "replace")
    return text, where


def _show(args: argparse.Namespace, host: Host) -> int:
    from kindling.bootconfig import parse_bootconfig, render_bootconfig, render_compact
    from kindling.bootconfig.render import render_proc

    text, source = _read_config_file(host, args.file)
    if text is None:
        raise NotFoundError(f"{source}: not present (this kernel has no bootconfig support)")
    cfg = parse_bootconfig(text, source=source, allow_empty=True)
    if args.json:
        emit_json({"config": cfg.to_dict()})  # nested: a bootconfig key `ok` must not meet the envelope's
    else:
        render = {"compact": render_compact, "list": render_proc,
                  "canonical": render_bootconfig}[args.format]
        sys.stdout.write(render(cfg))
    return 0


def _parse(args: argparse.Namespace, host: Host) -> int:
    if args.commit and args.if_unset:
        from kindling.bootconfig.service import import_running

        if args.file:
            raise UsageError("--if-unset reads /proc/bootconfig; give no FILE")
        committed, detail = import_running(host)
        sys.stdout.write(f"{'committed' if committed else 'skipped'}: {detail}\n")
        return 0
    from kindling.bootconfig import parse_bootconfig
    from kindling.bootconfig.boot_params import params_from_bootconfig
    from kindling.bootconfig.service import PROC_CMDLINE

    text, source = _read_config_file(host, args.file)
    cfg = parse_bootconfig(text or "", source=source, allow_empty=True)
    cmdline = host.read_optional(PROC_CMDLINE) if not args.file else None
    params = params_from_bootconfig(cfg, cmdline=cmdline, source=source)
    tree = params.to_settings()
    if args.commit and tree:
        from kindling.api.service import SettingsService

        report = SettingsService(host).set_tree(tree, tx="bootconfig-parse", source=source)
        for outcome in report.applied:
            (_log.info if outcome.ok else _log.error)(f"{outcome.name}: {'ok' if outcome.ok else 'failed'}: "
                                                      f"{outcome.detail}")
    if args.json or not args.commit:
        if args.json:
            emit_json({"settings": tree, "ignored": list(params.ignored)})
        else:
            emit_document(tree)
    for top in params.ignored:
        _log.warning(f"{source}: '{top}.*' keys are not boot parameters: left out")
    return 0


def _generate(args: argparse.Namespace, host: Host) -> int:
    from kindling.bootconfig.service import BOOTCONFIG_DATA, boot_settings, generate

    path = args.output or BOOTCONFIG_DATA
    done = generate(host, boot_settings(host), path=path)
    if args.json:
        emit_json({"path": path, "changed": bool(done), "actions": host.actions})
    else:
        sys.stdout.write("\n".join(done or [f"{path} unchanged"]) + "\n")
        for action in host.actions if host.recording else []:
            sys.stdout.write(f"    would {action}\n")
    return 0


def _reboot(args: argparse.Namespace, host: Host) -> int:
    from kindling.bootconfig.service import reboot_if_required

    decision = reboot_if_required(host)
    if args.json:
        emit_json({**decision.to_json(), "actions": host.actions})
    else:
        keys = f" ({', '.join(decision.changed)})" if decision.changed else ""
        sys.stdout.write(f"{'reboot' if decision.reboot else 'no reboot'}: "
                         f"{decision.reason}{keys}\n")
        for action in host.actions if host.recording else []:
            sys.stdout.write(f"    would {action}\n")
    return 0


def _install(args: argparse.Namespace, host: Host) -> int:
    if args.initrd:
        return _attach(args, host)
    from kindling.bootconfig.service import boot_settings, generate
    from kindling.bootloader.integrate import carriers_now, integrate

    boot = boot_settings(host)
    generated = generate(host, boot)
    result = integrate(host, boot, forced=args.loader)
    status, _ = carriers_now(host, boot) if not host.recording else ([], "")
    pending = [c.key for c, effect in status if not effect]
    if args.json:
        emit_json({**result.to_json(), "generated": generated, "reboot_needed": bool(pending),
                   "pending": pending, "actions": host.actions})
        return 0
    support = {True: "yes", False: "no (CONFIG_BOOT_CONFIG is off)", None: "unknown (no kernel config)"}
    lines = [f"boot loader:   {result.loader.kind} ({result.loader.why})",
             f"kernel:        {result.release or '?'}, bootconfig: {support[result.kernel_bootconfig]}"]
    lines += [f"parameter:     {c.key} -> {c.carrier} ({c.why})" for c in result.carried]
    if result.words:
        lines.append(f"command line:  {' '.join(result.words)}")
    lines += [f"done:          {d}" for d in [*generated, *result.done]]
    if not host.recording:
        lines.append("reboot needed: " + (f"yes ({', '.join(pending)})" if pending else "no"))
    lines += [f"plan:          {a}" for a in (host.actions if host.recording else [])]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _attach(args: argparse.Namespace, host: Host) -> int:
    """The initramfs hooks' entry: footer onto one initrd, when its kernel parses it."""
    from kindling.bootconfig.footer import read_footer
    from kindling.bootconfig.service import BOOTCONFIG_DATA
    from kindling.bootloader.initrd import attach_footer, want_attach

    path = os.path.abspath(args.initrd)
    release = args.kernel_release or ""
    if not host.exists(BOOTCONFIG_DATA):
        sys.stdout.write(f"{path}: no {BOOTCONFIG_DATA}: nothing to attach\n")
        return 0
    if not want_attach(host, release):
        sys.stdout.write(f"{path}: kernel {release or '?'} does not parse bootconfig "
                         "(CONFIG_BOOT_CONFIG off): not attached\n")
        return 0
    text = read_footer(host.read_bytes(BOOTCONFIG_DATA, limit=1 << 20), source=BOOTCONFIG_DATA)
    changed = attach_footer(host, path, text)
    sys.stdout.write(f"{path}: bootconfig {'attached' if changed else 'already attached'}\n")
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    handler = {"show": _show, "parse": _parse, "generate": _generate,
               "reboot-if-required": _reboot, "install": _install}[args.command]
    return handler(args, host)
