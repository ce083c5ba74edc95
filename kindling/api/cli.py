"""`kindling apiclient`: Bottlerocket's apiclient syntax (DESIGN §4).

    get [PREFIX…]              settings.motd, motd, os …      → {"settings": {…}}
    set K=V … | --json '{…}'   commit and apply at once, as Bottlerocket's does
    apply [FILE|-] …           TOML or JSON documents with a top-level `settings`
    raw -m METHOD -u URI [-d DATA]

`set` and `apply` print one line per changed key saying what happened to it:
"applied by motd", "read by cfsignal at boot", "stored for kubelet".

`set` coerces each value to the model's type at that key (`true` for a boolean,
`3` for an integer, JSON for a list or table), so users type what they mean.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from kindling.api.client import ApiClient
from kindling.api.routes import Response
from kindling.cli_common import add_common, emit_document, host_from_args
from kindling.dotted import format_key, parse_key
from kindling.errors import InputError, KindlingError, UsageError
from kindling.merge import merge, unflatten
from kindling.nesting import TomlError, loads_json, loads_toml

__all__ = ["ApiError", "build_parser", "main", "parse_assignments"]


def _settings_path(key: str) -> list[str]:
    segments = parse_key(key, source="key")
    return segments[1:] if segments[0] == "settings" else segments


def _coerce(segments: list[str], raw: str) -> Any:
    from kindling.settings.schema import Leaf, ListOf, node_at

    node = node_at(segments)
    where = "settings." + ".".join(segments)
    if isinstance(node, Leaf) and node.kind == "boolean":
        if raw not in ("true", "false"):
            raise InputError(f"{where}: expected true or false", source="apiclient set")
        return raw == "true"
    if isinstance(node, Leaf) and node.kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise InputError(f"{where}: expected an integer", source="apiclient set") from None
    if isinstance(node, Leaf) and node.kind == "string-or-json" and not raw.lstrip().startswith("["):
        return raw
    as_json = isinstance(node, Leaf) and node.kind in ("json", "string-or-json")
    if as_json or (node is not None and not isinstance(node, Leaf)):
        try:
            return loads_json(raw, source=f"apiclient set {where}")
        except ValueError:
            kind = "list" if isinstance(node, ListOf) else "JSON value"
            raise InputError(f"{where}: expected a JSON {kind}", source="apiclient set") from None
    return raw


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`K=V` arguments to a settings tree (without the outer key)."""
    leaves = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got an argument without '=' ({len(pair)} chars)")
        segments = _settings_path(key)
        leaves.append((tuple(segments), _coerce(segments, value)))
    return unflatten(leaves)


def _unwrap(doc: Any, source: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InputError("expected a table", source=source)
    if set(doc) == {"settings"}:
        doc = doc["settings"]
        if not isinstance(doc, dict):
            raise InputError("'settings' must be a table", source=source)
    return doc


def _load_document(name: str) -> dict[str, Any]:
    data = sys.stdin.buffer.read() if name == "-" else _read_file(name)
    source = "stdin" if name == "-" else name
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=source) from None
    if text.lstrip().startswith("{"):
        try:
            doc = loads_json(text, source=source)
        except ValueError as exc:
            raise InputError(f"malformed JSON (line {getattr(exc, 'lineno', '?')})", source=source) from None
    else:
        try:
            doc = loads_toml(text, source=source)
        except TomlError as exc:
            raise InputError(f"malformed TOML: {exc}", source=source) from None
    if not isinstance(doc, dict) or "settings" not in doc or set(doc) != {"settings"}:
        raise InputError("expected a document with only a top-level 'settings' table", source=source)
    return _unwrap(doc, source)


def _read_file(name: str) -> bytes:
    try:
        with open(name, "rb") as fh:
            data = fh.read(1024 * 1024 + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=name) from exc
    if len(data) > 1024 * 1024:
        raise InputError("larger than 1 MiB", source=name)
    return data


class ApiError(KindlingError):
    """The API refused a request: its message, and the key and source it named (the
    `--json` failure envelope carries them)."""

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        self.key = key
        self.source = source
        super().__init__(message)


def _check(resp: Response, what: str) -> Any:
    if 200 <= resp.status < 300:
        return resp.body
    body = resp.body if isinstance(resp.body, dict) else {}
    message = body.get("error")
    key, source = body.get("key"), body.get("source")
    raise ApiError(f"{what}: {message or f'HTTP {resp.status}'}",
                   key=key if isinstance(key, str) else None, source=source if isinstance(source, str) else None)


def _commit_tree(client: ApiClient, tree: dict[str, Any], what: str) -> dict[str, Any]:
    """PATCH a transaction of our own, commit and apply it; on any failure drop it.

    A commit that fails (validation, a lock, a lost connection, a refused datastore)
    must leave no pending transaction behind for the next client to commit by mistake.
    """
    tx = f"apiclient-{os.getpid()}"
    try:
        _check(client.request("PATCH", f"/settings?tx={tx}", tree), what)
        resp = client.request("POST", f"/tx/commit_and_apply?tx={tx}")
        if resp.status == 500 and isinstance(resp.body, dict) and "effects" in resp.body:
            _report(resp.body)  # committed: say what took effect before what failed
            failed = [o for o in resp.body.get("applied") or [] if isinstance(o, dict) and not o.get("ok")]
            detail = "; ".join(f"{o.get('name')}: {o.get('detail')}" for o in failed)
            raise ApiError(f"{what}: committed, but not applied: {detail}", source="apiclient " + what)
        result: dict[str, Any] = _check(resp, what)
    except BaseException:
        _drop(client, tx)
        raise
    return result


def _report(result: dict[str, Any]) -> None:
    """One line per changed key (what took effect, what waits for boot or a consumer),
    then one per applier that ran: what it did, or why it failed."""
    effects = result.get("effects") or []
    if not effects:
        sys.stdout.write("no settings changed\n")
    for effect in effects:
        if isinstance(effect, dict):
            sys.stdout.write(f"{effect.get('key')}: {effect.get('effect')}\n")
    for outcome in result.get("applied") or []:
        if isinstance(outcome, dict):
            verdict = "" if outcome.get("ok") else "failed: "
            sys.stdout.write(f"applier {outcome.get('name')}: {verdict}{outcome.get('detail')}\n")


def _drop(client: ApiClient, tx: str) -> None:
    """Delete `tx` if it exists; a failure to do so must not hide the first error."""
    try:
        client.request("DELETE", f"/tx?tx={tx}")
    except KindlingError:
        pass


def _get(client: ApiClient, prefixes: list[str]) -> dict[str, Any]:
    if not prefixes:
        return {"settings": _check(client.request("GET", "/settings"), "get")}
    out: dict[str, Any] = {}
    for prefix in prefixes:
        if prefix == "os":
            out = merge(out, {"os": _check(client.request("GET", "/os"), "get os")})
            continue
        from urllib.parse import quote

        # quoted again: `kernel.sysctl."vm.swappiness"` names one key, not four segments
        full = format_key(["settings", *_settings_path(prefix)]) if prefix != "settings" else None
        target = "/settings" if full is None else f"/settings?prefix={quote(full, safe='')}"
        got = _check(client.request("GET", target), f"get {prefix}")
        out = merge(out, {"settings": got})
    return out


_DESCRIPTION = """\
Read and change settings through the settings API, with Bottlerocket's apiclient syntax:

    get [PREFIX...]              settings.motd, motd, os ...    -> {"settings": {...}}
    set K=V ... | --json '{...}' commit and apply at once, as Bottlerocket's does
    apply [FILE|-] ...           TOML or JSON documents with a top-level `settings`
    raw -m METHOD -u URI [-d DATA]

`set` and `apply` print one line per changed key saying what happened to it:
"applied by motd", "read by cfsignal at boot", "stored for kubelet". `set` reads each
value as the model's type at that key (`true` for a boolean, `3` for an integer, JSON
for a list or table)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kindling apiclient", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket-path", help="API socket (default /run/kindling/api.sock)")
    parser.add_argument("--direct", action="store_true", help="use the datastore even if a server is up")
    add_common(parser, acts=False, prints=False)
    sub = parser.add_subparsers(dest="verb", required=True)
    g = sub.add_parser("get", help="print settings")
    g.add_argument("prefixes", nargs="*", metavar="PREFIX",
                   help="keys or prefixes to print, e.g. settings.motd or kernel.sysctl (default: all)")
    s = sub.add_parser("set", help="set settings and apply them")
    s.add_argument("pairs", nargs="*", metavar="KEY=VALUE",
                   help='a key and its value, e.g. motd=hi kernel.sysctl."vm.swappiness"=10')
    s.add_argument("--json", dest="json_doc", help="settings as a JSON object")
    a = sub.add_parser("apply", help="apply TOML/JSON documents with a 'settings' table")
    a.add_argument("files", nargs="*", default=["-"], metavar="FILE",
                   help="TOML or JSON documents, merged in order; - for stdin (default)")
    r = sub.add_parser("raw", help="send one request")
    r.add_argument("-m", "--method", default="GET", help="HTTP method (default GET)")
    r.add_argument("-u", "--uri", required=True, help="path and query, e.g. /settings?prefix=settings.motd")
    r.add_argument("-d", "--data", help="request body (JSON)")
    for verb_parser in (g, s, a, r):
        add_common(verb_parser, acts=False, prints=False, sub=True)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    host = host_from_args(args)
    client = ApiClient(host, socket_path=args.socket_path, mode="direct" if args.direct else "auto")

    if args.verb == "get":
        emit_document(_get(client, args.prefixes))
        return 0
    if args.verb == "set":
        if bool(args.pairs) == bool(args.json_doc):
            raise UsageError("give KEY=VALUE pairs or --json, not both or neither")
        if args.json_doc:
            try:
                tree = _unwrap(loads_json(args.json_doc, source="--json"), "--json")
            except ValueError:
                raise InputError("malformed JSON", source="--json") from None
        else:
            tree = parse_assignments(args.pairs)
        _report(_commit_tree(client, tree, "set"))
        return 0
    if args.verb == "apply":
        doc: dict[str, Any] = {}
        for name in args.files:
            doc = merge(doc, _load_document(name))
        _report(_commit_tree(client, doc, "apply"))
        return 0
    method = args.method.upper()
    resp = client.request(method, args.uri, args.data.encode() if args.data is not None else None)
    if resp.body is not None:
        emit_document(resp.body)
    return 0 if 200 <= resp.status < 300 else 1
