"""GET /openapi.json: the OpenAPI 3.1 document, generated from the routes' own models."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib.api import idempotency
from chalicelib.api.examples import EXAMPLES
from chalicelib.api.http import MAX_PATH_PARAM, ROUTES, Call, RouteDoc, route
from chalicelib.config import get_settings

if TYPE_CHECKING:
    from pydantic import BaseModel

bp = Blueprint(__name__)

ERROR_TEXT = {
    400: "Invalid input; `details.field` names the field",
    401: "No token, or a token that is not valid; code `account_deleted`: the account was deleted",
    403: "Not yours, or not an admin; code `account_banned`: the account is banned",
    404: "Not found",
    409: "Conflict; `details` holds the current state (or `idempotency_key_reused`, `idempotency_in_progress`)",
    413: "Body or value too large",
    414: "URI too long (answered by the HTTP front end, before the app)",
    429: "Too many requests; see `Retry-After`",
    500: "Unexpected failure (details are logged, never returned)",
    503: "The store is throttling; retry after `Retry-After` seconds",
}
PATH_PARAM = re.compile(r"{([^}]+)}")


def _operation_id(doc: RouteDoc) -> str:
    """Unique by construction: the method and the path, e.g. `get_players_me_stats`."""
    words = re.findall(r"[A-Za-z0-9]+", doc.path)
    return "_".join([doc.method.lower(), *words])


def build_document(routes: list[RouteDoc] | None = None) -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    from chalicelib.models.common import ErrorBody
    from chalicelib.models.realtime import message_schemas

    routes = ROUTES if routes is None else routes
    keyed: list[tuple[tuple[type[BaseModel], str], str]] = []
    for doc in routes:
        if doc.body is not None:
            keyed.append(((doc.body, "validation"), "body"))
        if doc.response is not None:
            keyed.append(((doc.response, "serialization"), "response"))
    pairs = list(dict.fromkeys(k for k, _ in keyed))
    pairs.append((ErrorBody, "serialization"))
    refs, top = models_json_schema(pairs, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    schemas: dict[str, Any] = dict(top.get("$defs", {}))

    paths: dict[str, Any] = {}
    for doc in routes:
        operation: dict[str, Any] = {
            "operationId": _operation_id(doc),
            "summary": doc.summary,
            "tags": list(doc.tags) or ["misc"],
            "parameters": [],
            "responses": {},
        }
        for name in PATH_PARAM.findall(doc.path):
            operation["parameters"].append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_PATH_PARAM},
                }
            )
        if doc.idempotent:
            operation["parameters"].append(
                {
                    "name": idempotency.HEADER,
                    "in": "header",
                    "required": False,
                    "description": (
                        "Makes the write safe to retry: one key per logical call, reused on every retry. "
                        "The same key and request answer the first answer again (header `Idempotent-Replayed: "
                        f"true`) for {get_settings().idempotency_ttl_seconds // 3600} hours; the same key with "
                        "another request is a 409 `idempotency_key_reused`; while the first is still running, "
                        "a 409 `idempotency_in_progress`. An error answer keeps nothing: its retry runs again."
                    ),
                    "schema": {"type": "string", "pattern": idempotency.KEY_PATTERN.pattern},
                }
            )
        if doc.query is not None:
            qschema = doc.query.model_json_schema(mode="validation")
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                prop = {k: v for k, v in prop.items() if k != "title"}
                operation["parameters"].append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        if doc.body is not None:
            # A body whose fields are all optional may be left out ({} is assumed).
            needs_body = any(f.is_required() for f in doc.body.model_fields.values())
            operation["requestBody"] = {
                "required": needs_body,
                "content": {"application/json": {"schema": refs[(doc.body, "validation")]}},
            }
            example = EXAMPLES.get((doc.method, doc.path))
            if example is not None:
                operation["requestBody"]["content"]["application/json"]["example"] = example
        ok: dict[str, Any] = {"description": "Success"}
        if doc.response is not None:
            ok["content"] = {"application/json": {"schema": refs[(doc.response, "serialization")]}}
        elif doc.produces:
            ok["content"] = {kind: {"schema": {"type": "string"}} for kind in doc.produces}
        operation["responses"][str(doc.status)] = ok
        codes = set(doc.errors) | {500, 503}
        if doc.body is not None or doc.query is not None or PATH_PARAM.search(doc.path):
            codes |= {400}
        if doc.body is not None:
            codes |= {413}
        if doc.query is not None:
            codes |= {414}
        if doc.auth != "none":
            codes |= {401, 403}  # 401 account_deleted, 403 account_banned on every route
            operation["security"] = [{"bearerAuth": []}]
        else:
            operation["security"] = []
        if doc.auth == "admin":
            codes |= {403}
        if doc.idempotent:
            codes |= {409}
        for code in sorted(codes):
            operation["responses"][str(code)] = {
                "description": ERROR_TEXT.get(code, "Error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            }
            if code in (429, 503):
                operation["responses"][str(code)]["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}
                }
        if not operation["parameters"]:
            del operation["parameters"]
        paths.setdefault(doc.path, {})[doc.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Game backend API",
            "version": "1.0.0",
            "description": (
                "Serverless game backend. Send the Cognito ID token as `Authorization: Bearer <token>` "
                f"(a bare token is accepted too). Request bodies are limited to {get_settings().max_body_bytes} bytes. "
                "Errors share one shape: `{error, code, details}`."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        # The WebSocket API's messages (see the README's "Realtime"): a JSON schema per type.
        "x-websocket-messages": message_schemas(),
    }


@lru_cache(maxsize=1)
def cached_document() -> dict[str, Any]:
    return build_document()


@route(bp, "/openapi.json", auth="none", tags=("meta",))
def openapi_document(call: Call) -> dict[str, Any]:
    """This API's OpenAPI 3.1 document, generated from the models that validate requests."""
    return cached_document()
