"""`GET /openapi.json`: the API described, with the settings schema generated from the
model itself so the document can never drift from what the server accepts."""

from __future__ import annotations

from typing import Any

from kindling.settings.schema import SETTINGS, Leaf, ListOf, MapOf, Node, Struct

__all__ = ["openapi_document", "settings_json_schema"]

_LEAF_TYPES = {"boolean": {"type": "boolean"}, "integer": {"type": "integer"}}


def settings_json_schema(node: Node = SETTINGS) -> dict[str, Any]:
    """JSON Schema of a model node (types only; value rules are enforced by the server),
    each key described by its line in the model."""
    schema = _node_schema(node)
    if node.doc:
        schema["description"] = node.doc
    return schema


def _node_schema(node: Node) -> dict[str, Any]:
    if isinstance(node, Leaf):
        if node.kind == "json":
            return {"type": "array"}
        if node.kind == "string-or-json":
            return {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
        if node.kind == "integer-or-digits":
            return {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]{1,10}$"}]}
        return dict(_LEAF_TYPES.get(node.kind, {"type": "string"}))
    if isinstance(node, ListOf):
        return {"type": "array", "items": settings_json_schema(node.item)}
    if isinstance(node, MapOf):
        return {"type": "object", "additionalProperties": settings_json_schema(node.value)}
    assert isinstance(node, Struct)
    properties = {k: settings_json_schema(v) for k, v in node.fields.items()}
    for alias, stored in node.aliases.items():  # accepted in requests, never in answers
        properties[alias] = properties[stored]
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "key": {"type": "string"}, "source": {"type": "string"}},
}
_TX = {
    "name": "tx",
    "in": "query",
    "required": False,
    "description": "transaction name (default 'default')",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
}
_KEY_PATTERN = r"^settings(\.[A-Za-z0-9_-]+)*$"
_KEYS_PATTERN = r"^settings(\.[A-Za-z0-9_-]+)*(,settings(\.[A-Za-z0-9_-]+)*)*$"
_KEYS = {"type": "array", "items": {"type": "string"}}
_OUTCOMES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "ok": {"type": "boolean"}, "detail": {"type": "string"}},
    },
}


_EFFECTS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"key": {"type": "string"}, "owners": _KEYS, "effect": {"type": "string"}},
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "bad input (names the key)", 404: "not found", 405: "method not allowed",
            413: "body too large", 500: "server-side failure (an applier or the disk)"}
    return {str(c): _json(_ERROR, text[c]) for c in codes}


def openapi_document() -> dict[str, Any]:
    settings = settings_json_schema()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Kindling settings API",
            "version": "1",
            "description": "Bottlerocket-compatible settings API over /run/kindling/api.sock",
        },
        "paths": {
            "/settings": {
                "get": {
                    "summary": "live settings",
                    "parameters": [
                        {"name": "keys", "in": "query", "required": False,
                         "schema": {"type": "string", "pattern": _KEYS_PATTERN},
                         "description": "comma-separated full keys, e.g. settings.motd"},
                        {"name": "prefix", "in": "query", "required": False,
                         "schema": {"type": "string", "pattern": _KEY_PATTERN}},
                    ],
                    "responses": {"200": _json(settings, "settings"), **_errors(400)},
                },
                "patch": {
                    "summary": "merge settings into a pending transaction",
                    "parameters": [_TX],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": settings}}},
                    "responses": {
                        "200": _json({"type": "object", "properties": {
                            "tx": {"type": "string"}, "keys_written": {"type": "integer"}}}, "patched"),
                        **_errors(400, 413),
                    },
                },
            },
            "/tx": {
                "get": {"summary": "a pending transaction", "parameters": [_TX],
                        "responses": {"200": _json(settings, "pending settings"), **_errors(400, 404)}},
                "delete": {"summary": "drop a pending transaction", "parameters": [_TX],
                           "responses": {"200": _json({"type": "object", "properties": {
                               "tx": {"type": "string"}, "dropped": _KEYS}}, "dropped"),
                               **_errors(400, 404)}},
            },
            "/tx/commit": {
                "post": {"summary": "make a transaction live", "parameters": [_TX],
                         "responses": {"200": _json({"type": "object", "properties": {
                             "tx": {"type": "string"}, "changed": _KEYS}}, "committed"),
                             **_errors(400, 404)}},
            },
            "/tx/apply": {
                "post": {
                    "summary": "run the appliers for the given keys (all when no body)",
                    "requestBody": {"required": False,
                                    "content": {"application/json": {"schema": _KEYS}}},
                    "responses": {"200": _json({"type": "object", "properties": {
                        "applied": _OUTCOMES}}, "applied"), **_errors(400, 500)},
                },
            },
            "/tx/commit_and_apply": {
                "post": {"summary": "commit, then apply what changed", "parameters": [_TX],
                         "responses": {"200": _json({"type": "object", "properties": {
                             "tx": {"type": "string"}, "changed": _KEYS, "applied": _OUTCOMES,
                             "effects": _EFFECTS}},
                             "committed and applied"), **_errors(400, 404, 500)}},
            },
            "/metadata/affected-services": {
                "get": {
                    "summary": "the appliers, boot services and consumers each key affects",
                    "parameters": [
                        {"name": "keys", "in": "query", "required": True,
                         "schema": {"type": "string", "pattern": _KEYS_PATTERN},
                         "description": "comma-separated keys or prefixes, e.g. settings.motd,settings.ntp"},
                    ],
                    "responses": {"200": _json({"type": "object", "additionalProperties": _KEYS},
                                               "key → names"), **_errors(400)},
                },
            },
            "/os": {"get": {"summary": "operating system and Kindling version",
                            "responses": {"200": _json({"type": "object",
                                                        "additionalProperties": {"type": "string"}},
                                                       "os info")}}},
            "/openapi.json": {"get": {"summary": "this document",
                                      "responses": {"200": _json({"type": "object"}, "OpenAPI 3")}}},
        },
    }
