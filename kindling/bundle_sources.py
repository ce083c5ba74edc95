"""What goes into a support bundle, read through the Host (kindling/support_bundle.py writes it).

Each source yields `Part`s: a member name and its bytes, or no bytes and the reason it
is absent (recorded in the bundle's MANIFEST; a missing piece never fails the bundle).

- `status.json` (`kindling status --json`), `timeline.json`, `boot-progress.json`;
- `settings.json`: the live settings with every sensitive value replaced (kindling/redact.py);
- `files/<path>`: the files Kindling writes, found from the registries, not a list kept
  here: every applier's and every boot stage's declared `outputs`, plus each file the
  last boot's timeline records as written. Netdog's state is among the stages' outputs;
- `kdump-status.txt` (`kindling kdump status`, through the Host runner);
- `units.txt` (`systemctl list-units` / `show`) where systemd runs under the root and
  `journal.txt` (`journalctl -u 'kindling-*' -o short-iso`, bounded) where journald does.

Nothing secret: files readable by root alone (0600: credentials, kubeconfigs, keys) are
not collected; in every other member each form of each sensitive value is replaced by
`<redacted>`, and a binary file holding one is left out.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from typing import Any

from kindling.errors import KindlingError
from kindling.host import Host
from kindling.record import record

__all__ = ["MAX_FILES", "MAX_MEMBER", "Part", "collect"]

MAX_MEMBER = 1 << 20  # bytes per member: a bundle is for a ticket, not a backup
MAX_FILES = 400  # rendered files per bundle
JOURNAL_LINES = 5000
JOURNAL_BYTES = 4 << 20
_UNIT_PROPERTIES = ("Id,LoadState,ActiveState,SubState,Result,ExecMainStatus,ExecMainStartTimestamp,"
                    "ExecMainExitTimestamp,ActiveEnterTimestamp")


@record(frozen=True)
class Part:
    """One member of the bundle (`data`), or why it is absent (`data` None)."""

    name: str
    data: bytes | None
    note: str


class _Secrets:
    """Every form of every sensitive value of the live settings (kindling/redact.py)."""

    def __init__(self, live: dict[str, Any]) -> None:
        from kindling.redact import forms, secret_values

        self.forms: set[str] = set()
        for value in secret_values(live):
            self.forms |= forms(value)

    def clean(self, name: str, data: bytes, note: str) -> Part:
        from kindling.redact import redact_text

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if any(f.encode() in data for f in self.forms):
                return Part(name, None, f"absent: holds a sensitive setting's value ({note})")
            return Part(name, data, note)
        text, hits = redact_text(text, self.forms)
        return Part(name, text.encode(), f"{note}; {hits} sensitive values redacted" if hits else note)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def live_settings(host: Host) -> tuple[dict[str, Any] | None, str]:
    """The live settings read-only (a recording view opens SQLite read-only), or why not."""
    from kindling.datastore import DATASTORE_PATH

    if not host.exists(DATASTORE_PATH):
        return None, f"absent: no settings datastore ({DATASTORE_PATH}): nothing committed yet"
    from kindling.api.service import SettingsService
    from kindling.host import RecordingHost

    try:
        return SettingsService(RecordingHost(host.root, env=host.env)).get_settings(), DATASTORE_PATH
    except KindlingError as exc:
        return None, f"absent: {exc}"


def _read(host: Host, path: str, name: str, secrets: _Secrets, why_missing: str, who: str = "") -> Part:
    from kindling.errors import HostError

    try:
        data = host.read_bytes(path, limit=MAX_MEMBER)
    except HostError as exc:
        missing = not host.path(path).exists()
        return Part(name, None, f"absent: {why_missing}" if missing else f"absent: {exc}")
    return secrets.clean(name, data, f"{path} ({who})" if who else path)


def _declared(host: Host) -> Iterator[tuple[str, str]]:
    """(pattern, who) for every output the registries declare, then the last boot's writes."""
    from kindling.appliers import load_appliers
    from kindling.boot import TIMELINE_PATH, load_stages

    for applier in load_appliers(host):
        for pattern in applier.outputs:
            yield pattern, f"applier {applier.name}"
    for stage in load_stages():
        for pattern in stage.outputs:
            yield pattern, f"stage {stage.name}"
    try:
        timeline = json.loads(host.read_optional(TIMELINE_PATH) or "{}")
    except (ValueError, KindlingError):
        return
    for stage in timeline.get("stages", []) if isinstance(timeline, dict) else []:
        for action in stage.get("actions", []) if isinstance(stage, dict) else []:
            if isinstance(action, str) and action.startswith("write /"):
                yield action.split()[1], f"written by stage {stage.get('name')} at the last boot"


def _names(host: Host, directory: str) -> list[str]:
    """The names in `directory`; none when it is not one (or cannot be read)."""
    try:
        return host.listdir(directory)
    except OSError:
        return []


def _expand(host: Host, pattern: str) -> list[str]:
    """The existing paths under the root that match `pattern` (fnmatch per segment)."""
    if not any(c in pattern for c in "*?["):
        return [pattern]
    found = [""]
    for segment in pattern.strip("/").split("/"):
        if any(c in segment for c in "*?["):
            found = [f"{d}/{n}" for d in found for n in _names(host, d or "/") if fnmatch.fnmatchcase(n, segment)]
        else:
            found = [f"{d}/{segment}" for d in found]
        if len(found) > MAX_FILES:
            break
    return found[:MAX_FILES]


def _rendered(host: Host, secrets: _Secrets) -> Iterator[Part]:
    import os
    import stat

    seen: set[str] = set()
    for pattern, who in _declared(host):
        paths = _expand(host, pattern)
        if not paths and pattern not in seen:
            seen.add(pattern)
            yield Part(f"files{pattern}", None, f"absent: no file matches ({who})")
        for path in paths:
            if path in seen:
                continue
            seen.add(path)
            if len(seen) > MAX_FILES:
                yield Part("files/", None, f"absent: more than {MAX_FILES} files; the rest left out")
                return
            name = f"files{path}"
            try:
                st = os.lstat(host.entry(path))
            except FileNotFoundError:
                yield Part(name, None, f"absent: not present ({who})")
                continue
            except OSError as exc:
                yield Part(name, None, f"absent: cannot look at it: {exc.strerror or exc} ({who})")
                continue
            if stat.S_ISLNK(st.st_mode):
                yield Part(name, None, f"absent: a symbolic link to {os.readlink(host.entry(path))} ({who})")
            elif not stat.S_ISREG(st.st_mode):
                continue  # a directory matched by a pattern: its files are listed by their own
            elif not st.st_mode & 0o044:
                yield Part(name, None, f"absent: mode {st.st_mode & 0o777:04o}, readable by its owner only: "
                                       f"may hold secrets, not collected ({who})")
            elif st.st_size > MAX_MEMBER:
                yield Part(name, None, f"absent: {st.st_size} bytes, over the {MAX_MEMBER}-byte limit ({who})")
            else:
                yield _read(host, path, name, secrets, f"not present ({who})", who)


def _command(host: Host, name: str, argv: list[str], secrets: _Secrets, *, limit: int = MAX_MEMBER) -> Part:
    from kindling.errors import CommandError

    try:
        result = host.run(argv, read_only=True, check=False, timeout=60, limit=limit)
    except CommandError as exc:
        return Part(name, None, f"absent: {exc}")
    text = result.stdout + (b"\n--- stderr ---\n" + result.stderr if result.stderr.strip() else b"")
    return secrets.clean(name, text, f"{' '.join(argv)} (exit {result.returncode})")


def _kdump(host: Host, secrets: _Secrets) -> Part:
    from kindling.errors import HostError
    from kindling.units import kindling_executable

    try:
        exe = kindling_executable()
    except HostError as exc:
        return Part("kdump-status.txt", None, f"absent: {exc}")
    return _command(host, "kdump-status.txt", [exe, "kdump", "status", "--root", str(host.root)], secrets)


def _units(host: Host, secrets: _Secrets) -> Part:
    """`systemctl list-units` of Kindling's units, then `systemctl show` of their states."""
    from kindling.errors import CommandError

    listing = ["systemctl", "list-units", "--all", "--no-legend", "--plain", "--no-pager", "kindling-*"]
    try:
        listed = host.run(listing, read_only=True, check=False, timeout=60, limit=MAX_MEMBER)
    except CommandError as exc:
        return Part("units.txt", None, f"absent: {exc}")
    names = [line.split()[0] for line in listed.text.splitlines() if line.strip()]
    text = b"$ " + " ".join(listing).encode() + b"\n" + listed.stdout + listed.stderr
    note = f"systemctl list-units (exit {listed.returncode})"
    if names:
        show = ["systemctl", "show", "--no-pager", f"--property={_UNIT_PROPERTIES}", *names]
        try:
            shown = host.run(show, read_only=True, check=False, timeout=60, limit=MAX_MEMBER)
            text += b"\n$ systemctl show ...\n" + shown.stdout + shown.stderr
            note += f", systemctl show (exit {shown.returncode})"
        except CommandError as exc:
            note += f", systemctl show failed: {exc}"
    return secrets.clean("units.txt", text, note)


def _systemd(host: Host, secrets: _Secrets) -> Iterator[Part]:
    from kindling.unit_restart import systemd_runs

    if systemd_runs(host):
        yield _units(host, secrets)
    else:
        yield Part("units.txt", None, "absent: systemd is not running under this root (/run/systemd/system)")
    if not host.path("/run/systemd/journal").is_dir():
        yield Part("journal.txt", None, "absent: journald is not running under this root (/run/systemd/journal)")
    else:
        yield _command(host, "journal.txt", ["journalctl", "--no-pager", "-q", "-u", "kindling-*", "-o", "short-iso",
                                             "-n", str(JOURNAL_LINES)], secrets, limit=JOURNAL_BYTES)


def collect(host: Host) -> list[Part]:
    """Every part of the bundle, in MANIFEST order (reads only; commands are read-only)."""
    from kindling.boot import TIMELINE_PATH
    from kindling.boot_progress import PROGRESS_PATH
    from kindling.redact import redact_settings
    from kindling.status import read_status

    live, where = live_settings(host)
    secrets = _Secrets(live or {})
    parts = [
        secrets.clean("status.json", _json(read_status(host).to_json()), "kindling status --json"),
        _read(host, TIMELINE_PATH, "timeline.json", secrets, f"no {TIMELINE_PATH}: no boot since /run was mounted"),
        _read(host, PROGRESS_PATH, "boot-progress.json", secrets, f"no {PROGRESS_PATH}"),
        Part("settings.json", None, where) if live is None else secrets.clean(
            "settings.json", _json({"settings": redact_settings(live)}), f"{where}, sensitive values redacted"),
    ]
    parts += _rendered(host, secrets)
    parts.append(_kdump(host, secrets))
    parts += _systemd(host, secrets)
    return parts
