"""The API's routes, independent of HTTP: (method, target, body) → (status, JSON).

Both the Unix-socket server and the direct client go through `dispatch`, so the
socket and no socket answer the same (issue 2). Routes are Bottlerocket's:

    GET    /settings[?keys=a,b | ?prefix=p]     live settings (no outer key)
    PATCH  /settings?tx=NAME                    merge into a pending transaction
    GET    /tx?tx=NAME                          a pending transaction
    DELETE /tx?tx=NAME                          drop it
    POST   /tx/commit?tx=NAME                   make it live; returns changed keys
    POST   /tx/apply                            run appliers (body: list of keys, or none)
    POST   /tx/commit_and_apply?tx=NAME         both
    GET    /metadata/affected-services?keys=a,b each key → the appliers/services/consumers it affects
    GET    /os                                  os-release + version
    GET    /openapi.json                        this API, described

Bad input is a 4xx with `{"error": …, "key": …, "source": …}` (`key` the full settings
key or the query parameter at fault, `source` the input's name, each when known), a
failed commit-and-apply a 500 with the whole report (what changed, each applier's
outcome); nothing here raises to the caller.
"""

from __future__ import annotations

import json
from typing import Any

from kindling.errors import (
    ConflictError,
    HostError,
    InputError,
    KindlingError,
    NotFoundError,
    SettingsError,
)
from kindling.nesting import loads_json
from kindling.record import field, record

__all__ = ["MAX_BODY", "ROUTES", "Response", "dispatch"]

MAX_BODY = 1024 * 1024
DEFAULT_TX = "default"

# path -> allowed methods (also drives 405 + Allow, and the OpenAPI document)
ROUTES: dict[str, tuple[str, ...]] = {
    "/settings": ("GET", "PATCH"),
    "/tx": ("GET", "DELETE"),
    "/tx/commit": ("POST",),
    "/tx/apply": ("POST",),
    "/tx/commit_and_apply": ("POST",),
    "/metadata/affected-services": ("GET",),
    "/os": ("GET",),
    "/openapi.json": ("GET",),
}
_QUERY = {
    ("/settings", "GET"): {"keys", "prefix"},
    ("/settings", "PATCH"): {"tx"},
    ("/tx", "GET"): {"tx"},
    ("/tx", "DELETE"): {"tx"},
    ("/tx/commit", "POST"): {"tx"},
    ("/tx/apply", "POST"): set(),
    ("/tx/commit_and_apply", "POST"): {"tx"},
    ("/metadata/affected-services", "GET"): {"keys"},
    ("/os", "GET"): set(),
    ("/openapi.json", "GET"): set(),
}


@record
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return (json.dumps(self.body, indent=None, sort_keys=False) + "\n").encode()


def _error(status: int, message: str, key: str | None = None, source: str | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if key:
        body["key"] = key
    if source:
        body["source"] = source
    return Response(status, body)


def _parse_query(query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InputError("malformed query string", source="query") from None
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in out:
            raise InputError(f"parameter {name!r} given twice", source="query")
        out[name] = value
    return out


def _json_body(body: bytes, *, required: bool) -> Any:
    if not body.strip():
        if required:
            raise InputError("a JSON body is required", source="body")
        return None
    try:
        return loads_json(body, source="body")
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise InputError(f"malformed JSON{where}", source="body") from None


def dispatch(service: Any, method: str, target: str, body: bytes = b"") -> Response:
    """Answer one request; `service` is a `SettingsService`."""
    path, _, query = target.partition("?")
    if len(path) > 1:
        path = path.rstrip("/")
    allowed = ROUTES.get(path)
    if allowed is None:
        return _error(404, f"no such resource: {path[:100]}")
    if method not in allowed:
        resp = _error(405, f"method {method[:16]} not allowed on {path}")
        resp.headers["Allow"] = ", ".join(allowed)
        return resp
    if len(body) > MAX_BODY:
        return _error(413, f"request body larger than {MAX_BODY} bytes")
    try:
        params = _parse_query(query)
        unknown = set(params) - _QUERY[(path, method)]
        if unknown:
            name = sorted(unknown)[0][:64]
            return _error(400, f"unknown query parameter {name!r}", name)
        return _route(service, method, path, params, body)
    except SettingsError as exc:
        return _error(400, str(exc), exc.key, exc.source)
    except InputError as exc:
        return _error(400, str(exc), source=exc.source)
    except NotFoundError as exc:
        return _error(404, str(exc))
    except ConflictError as exc:
        return _error(409, str(exc))
    except HostError as exc:
        return _error(500, f"server side failure: {exc}")
    except KindlingError as exc:
        return _error(500, str(exc))
    except Exception as exc:
        from kindling.errors import describe
        from kindling.log import scrub

        return _error(500, f"server side failure: {scrub(describe(exc))}")


def _tx(params: dict[str, str]) -> str:
    return params.get("tx") or DEFAULT_TX


def _route(service: Any, method: str, path: str, params: dict[str, str], body: bytes) -> Response:
    if path == "/settings" and method == "GET":
        keys = [k for k in params.get("keys", "").split(",") if k] if "keys" in params else None
        if "keys" in params and not keys:
            raise InputError("keys must name at least one key", source="keys")
        prefix = params.get("prefix")
        if "prefix" in params and not prefix:
            raise InputError("prefix must not be empty", source="prefix")
        return Response(200, service.get_settings(keys=keys, prefix=prefix))
    if path == "/settings":
        data = _json_body(body, required=True)
        if not isinstance(data, dict):
            raise InputError("body must be a JSON object of settings", source="body")
        written = service.patch(_tx(params), data, source="request body")
        return Response(200, {"tx": _tx(params), "keys_written": written})
    if path == "/tx" and method == "GET":
        return Response(200, service.get_tx(_tx(params)))
    if path == "/tx":
        return Response(200, {"tx": _tx(params), "dropped": service.delete_tx(_tx(params))})
    if path == "/tx/commit":
        return Response(200, {"tx": _tx(params), "changed": service.commit(_tx(params))})
    if path == "/tx/apply":
        keys = _json_body(body, required=False)
        if keys is not None and not (
            isinstance(keys, list) and all(isinstance(k, str) for k in keys)
        ):
            raise InputError("body must be a JSON list of setting keys", source="body")
        return Response(200, {"applied": _outcomes(service.apply(keys))})
    if path == "/tx/commit_and_apply":
        report = service.commit_and_apply(_tx(params))
        status = 200 if report.ok else 500
        return Response(
            status,
            {"tx": _tx(params), "changed": report.changed, "applied": _outcomes(report.applied),
             "effects": [e.to_json() for e in report.effects()]},
        )
    if path == "/metadata/affected-services":
        keys = [k for k in params.get("keys", "").split(",") if k]
        if not keys:
            raise InputError("keys must name at least one key", source="keys")
        return Response(200, service.affected_services(keys))
    if path == "/os":
        return Response(200, service.os_info())
    from kindling.api.openapi import openapi_document

    return Response(200, openapi_document())


def _outcomes(outcomes: list[Any]) -> list[dict[str, Any]]:
    return [{"name": o.name, "ok": o.ok, "detail": o.detail} for o in outcomes]
