"""The HTTP glue every route uses: parse, authenticate, call, map errors, document.

`route(...)` registers a Chalice view and records the route (models, auth, status) in
ROUTES, from which `/openapi.json` is generated, so the document cannot drift. A route
names its models as `"module:Name"`: they (and pydantic) are imported when the route first
runs or the document is built, not when `import app` declares the routes. A route may
also name a plain check of its body (`chalicelib.models.checks`): a body the check accepts
needs no model, so the commonest requests run without pydantic.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import math
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import composition
from chalicelib.api import idempotency
from chalicelib.api.identity import authenticate, gateway_authorizer
from chalicelib.config import get_settings
from chalicelib.errors import AppError, Forbidden, Invalid, MethodNotAllowed, NotFound, TooLarge
from chalicelib.observability import logger, metrics
from chalicelib.services.tokens import Claims
from chalicelib.storage.errors import translate_client_error

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

Auth = Literal["none", "player", "admin"]

JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json"}


def __getattr__(name: str) -> Any:
    # `http.account_status` (what a benchmark patches) names the service run_view imports on
    # its first call; importing it here at import would load storage and botocore with `app`.
    if name == "account_status":
        from chalicelib.services import account_status

        return account_status
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_of(ref: type[BaseModel] | str | None) -> type[BaseModel] | None:
    """The model a route names, imported on first use."""
    if ref is None or not isinstance(ref, str):
        return ref
    module, _, name = ref.partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), name)
    return model


@dataclass(frozen=True)
class RouteDoc:
    path: str
    method: str
    name: str
    summary: str
    auth: Auth
    body_ref: type[BaseModel] | str | None
    query_ref: type[BaseModel] | str | None
    response_ref: type[BaseModel] | str | None
    status: int
    tags: tuple[str, ...]
    errors: tuple[int, ...]
    idempotent: bool = False
    produces: tuple[str, ...] = ()  # content types of a success body that is not JSON (e.g. "text/html")

    @property
    def body(self) -> type[BaseModel] | None:
        return model_of(self.body_ref)

    @property
    def query(self) -> type[BaseModel] | None:
        return model_of(self.query_ref)

    @property
    def response(self) -> type[BaseModel] | None:
        return model_of(self.response_ref)


ROUTES: list[RouteDoc] = []
MAX_PATH_PARAM = 128


@dataclass
class Call:
    """What a route handler gets: the verified caller and the validated input."""

    request: Request
    claims: Claims | None
    body: Any = None
    query: Any = None
    request_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def player_id(self) -> str:
        if self.claims is None:  # only routes with auth="none" have no claims
            raise Forbidden("this route has no caller identity")
        return self.claims.sub

    @property
    def source_ip(self) -> str:
        identity = (self.request.context or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "unknown")


def error_body(error: AppError) -> dict[str, Any]:
    body: dict[str, Any] = {"error": error.message, "code": error.code}
    if error.details is not None:
        body["details"] = error.details
    return body


def error_response(error: AppError, request_id: str | None = None) -> Response:
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if error.retry_after is not None:
        headers["Retry-After"] = str(int(error.retry_after))
    body = error_body(error)
    if error.status >= 500 and request_id:
        body["request_id"] = request_id  # what to quote when reporting it; details are in the logs
    return Response(body=body, status_code=error.status, headers=headers)


def unknown_routes(routes: Any) -> Callable[[Request | None, Callable[[Any], Response]], Response]:
    """An http middleware answering, in the error shape, a request no route takes: 405 with
    `Allow` for a declared path and another method, 404 for any other path. Behind the HTTP
    API, a method or path without a route of its own reaches the app on the default route
    (`/$default`: a 404, the gateway does not say which path matched); Chalice alone would
    answer in its own shape (405, or 500 for an event without a route)."""

    def middleware(request: Request | None, get_response: Callable[[Any], Response]) -> Response:
        if request is not None and request.method in routes.get(request.path, ()):
            return get_response(request)
        request_id = request.context.get("requestId") if request is not None else None
        allowed = sorted(routes.get(request.path, ())) if request is not None else []
        if not allowed:
            return error_response(NotFound("no route for this method and path"), request_id)
        response = error_response(
            MethodNotAllowed(f"{request.method} is not a method of this path", details={"allow": allowed}),  # type: ignore[union-attr]
            request_id,
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response

    return middleware


def _field_of(loc: tuple[Any, ...], prefix: str) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    return ".".join([prefix, *parts]) if prefix else ".".join(parts)


def _named_field(model: type[BaseModel] | None, message: str) -> str:
    """For a cross-field error (no location): the model's field its message names first."""
    if model is None:
        return ""
    names = [f.alias or n for n, f in model.model_fields.items()]
    found = [(m.start(), n) for n in names if (m := re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", message))]
    return min(found)[1] if found else ""


def invalid_from(
    exc: ValidationError, prefix: str, *, model: type[BaseModel] | None = None, where: str = "body"
) -> Invalid:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0]
    name = (
        _field_of(tuple(first["loc"]), prefix)
        or ".".join(p for p in (prefix, _named_field(model, first["msg"])) if p)
        or where
    )
    message = f"{name}: {first['msg']}"
    details = {
        "field": name,
        "errors": [{"field": _field_of(tuple(e["loc"]), prefix) or prefix, "message": e["msg"]} for e in errors[:20]],
    }
    return Invalid(message, field=name, details=details)


def _reject_non_finite(value: str) -> Any:
    raise ValueError("numbers must be finite")


# What DynamoDB can store (38 digits, magnitude 1e-130 to 1e126), with a margin.
_MAX_MAGNITUDE = 1e120
_MIN_MAGNITUDE = 1e-120


def parse_json_body(request: Request) -> Any:
    raw = request.raw_body or b""
    if len(raw) > get_settings().max_body_bytes:
        raise TooLarge(
            f"request body over {get_settings().max_body_bytes} bytes",
            details={"limit_bytes": get_settings().max_body_bytes},
        )
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_constant=_reject_non_finite)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"request body is not valid JSON: {exc}", field="body") from None
    except RecursionError:  # a body of thousands of nested brackets
        raise Invalid("request body nests too deeply", field="body") from None
    try:
        check_storable(data)
    except RecursionError:
        raise Invalid("request body nests too deeply", field="body") from None
    return data


def validate_body(model: type[BaseModel], data: Any) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc, "", model=model) from None


def validate_query(model: type[BaseModel], request: Request) -> Any:
    raw: Any = request.query_params or {}
    for name in raw:
        # A repeated parameter (?ids=a&ids=b) is refused, never silently cut to one value.
        if hasattr(raw, "getlist") and len(raw.getlist(name)) > 1:
            raise Invalid(f"{name}: give it once (a list is comma-separated)", field=name)
    params = dict(raw)
    from pydantic import ValidationError

    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise invalid_from(exc, "", model=model, where="query") from None


def to_jsonable(result: Any) -> Any:
    # Without pydantic imported, nothing is a model: a route that uses none never loads it.
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(result, pydantic.BaseModel):
        return result.model_dump(mode="json", exclude_none=False)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)  # a body a plain check accepted
    return result


def check_of(ref: str | None) -> Callable[[Any], Any] | None:
    """The plain body check a route names, imported on first use."""
    if ref is None:
        return None
    module, _, name = ref.partition(":")
    check: Callable[[Any], Any] = getattr(importlib.import_module(module), name)
    return check


def check_storable(value: Any, path: str = "") -> None:
    """Every number of a body must be finite and storable (DynamoDB: 38 digits, 1e-130..1e126)."""
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > _MAX_MAGNITUDE or (value and abs(value) < _MIN_MAGNITUDE):
            raise Invalid(
                f"{path or 'body'}: numbers must be finite, within 1e-120 to 1e120 in magnitude", field=path or "body"
            )
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**38:
            raise Invalid(f"{path or 'body'}: integers may have at most 38 digits", field=path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_storable(item, f"{path}.{index}" if path else str(index))


def run_view(
    request: Request,
    auth: Auth,
    body_model: type[BaseModel] | str | None,
    query_model: type[BaseModel] | str | None,
    status: int,
    handler: Callable[..., Any],
    params: dict[str, Any],
    raw_body: bool = False,
    deleted_ok: bool = False,
    idempotent: bool = False,
    lambda_context: Any = None,
    body_check: str | None = None,
) -> Response:
    from chalicelib.services import account_status

    request_id = str((request.context or {}).get("requestId") or uuid.uuid4())
    logger.append_keys(request_id=request_id, path=request.path, method=request.method)
    try:
        claims = None
        if auth != "none":
            claims = authenticate(request.headers)
            logger.append_keys(player_id=claims.sub)
            # Tokens outlive their account: one consistent read refuses deleted and banned ones.
            account = account_status.check_active(
                player_id=claims.sub, repo=composition.players_repo(), allow_deleted=deleted_ok
            )
            if auth == "admin" and not claims.in_group(get_settings().admin_group):
                raise Forbidden("this route is for the admins group", code="not_admin")
        for name, value in params.items():
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_PATH_PARAM:
                raise Invalid(f"{name}: must be 1 to {MAX_PATH_PARAM} characters", field=name)
        call = Call(request=request, claims=claims, request_id=request_id)
        if claims is not None:
            call.extra["account_status"] = account
        if body_model is not None or raw_body:
            data = parse_json_body(request)
            check = check_of(body_check)
            # The check vouches for the body it accepts; the model words what it refuses.
            call.body = check(data) if check is not None else None
            if call.body is None:
                body_class = model_of(body_model)
                call.body = validate_body(body_class, data) if body_class is not None else data
        query_class = model_of(query_model)
        if query_class is not None:
            call.query = validate_query(query_class, request)
        key = idempotency.key_of(request.headers) if idempotent and claims is not None else None
        replayed = False
        if key is not None and claims is not None:
            body, replayed = idempotency.run_once(
                player_id=claims.sub,
                key=key,
                request={
                    "method": request.method,
                    "path": request.path,
                    "params": params,
                    "query": dict(request.query_params or {}),
                    "body": to_jsonable(call.body),
                },
                handler=lambda: to_jsonable(handler(call, **params)),
                lambda_context=lambda_context,
            )
            headers = dict(JSON_HEADERS)
            if replayed:
                headers["Idempotent-Replayed"] = "true"
            response = Response(body=body, status_code=status, headers=headers)
        else:
            result = handler(call, **params)
            response = (
                result
                if isinstance(result, Response)
                else Response(body=to_jsonable(result), status_code=status, headers=dict(JSON_HEADERS))
            )
        # A replayed answer wrote nothing: the first call was audited.
        if auth == "admin" and request.method != "GET" and response.status_code < 400 and not replayed:
            audit_admin_write(call, handler.__name__, params, response.status_code)
        return response
    except AppError as error:
        if error.status >= 500:
            logger.warning("request failed", extra={"code": error.code, "error": error.message})
        return error_response(error, request_id)
    except ClientError as exc:
        translated = translate_client_error(exc)
        logger.warning(
            "store error", extra={"code": translated.code, "aws_code": exc.response.get("Error", {}).get("Code")}
        )
        return error_response(translated, request_id)
    except BotoCoreError as exc:
        logger.warning("store unreachable", extra={"error": str(exc)})
        return _unavailable(request_id)
    except Exception:  # noqa: BLE001 - the one place that turns any surprise into a clean 500
        logger.exception("unexpected failure")
        return Response(
            body={"error": "internal error", "code": "internal", "request_id": request_id},
            status_code=500,
            headers=dict(JSON_HEADERS),
        )
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
        logger.remove_keys(["request_id", "path", "method", "player_id"])


def audit_admin_write(call: Call, action: str, params: dict[str, Any], status: int) -> None:
    """Every successful admin write goes to the audit log (who, what, target, reason)."""
    from chalicelib.services import audit

    body = to_jsonable(call.body) if call.body is not None else {}
    claims = call.claims
    entry = audit.entry_for(
        actor=claims.username if claims else "",
        actor_id=claims.sub if claims else "",
        action=action,
        method=call.request.method,
        path=call.request.path,
        params={k: str(v) for k, v in params.items()},
        body=body if isinstance(body, dict) else {"body": body},
        header_reason=call.request.headers.get(audit.REASON_HEADER) if call.request.headers else None,
        status=status,
    )
    audit.record(entry=entry, repo=composition.audit_repo())


class _Unavailable(AppError):
    status = 503
    code = "unavailable"


def _unavailable(request_id: str | None = None) -> Response:
    return error_response(_Unavailable("the store is unreachable, retry shortly", retry_after=2), request_id)


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def route(
    bp: Blueprint,
    path: str,
    *,
    methods: tuple[str, ...] = ("GET",),
    auth: Auth = "player",
    body: type[BaseModel] | str | None = None,
    query: type[BaseModel] | str | None = None,
    response: type[BaseModel] | str | None = None,
    status: int = 200,
    summary: str = "",
    tags: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
    raw_body: bool = False,
    content_types: tuple[str, ...] = ("application/json",),
    produces: tuple[str, ...] = (),
    deleted_ok: bool = False,
    idempotent: bool = False,
    body_check: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a thin route: `handler(call, **path_params)` returns a model or a dict.

    Every route with a caller refuses a deleted (401 `account_deleted`) or banned (403
    `account_banned`) account; `deleted_ok` lets a deleted one through (finishing its erasure).
    `idempotent` routes honour an `Idempotency-Key` header (chalicelib.api.idempotency).
    `body_check` names a plain check (`"module:function"`) giving the body it accepts, as
    the `body` model would, or None to let the model validate it.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def view(**params: Any) -> Response:
            context = bp.lambda_context if idempotent else None
            return run_view(
                bp.current_request,
                auth,
                body,
                query,
                status,
                handler,
                params,
                raw_body,
                deleted_ok,
                idempotent,
                context,
                body_check,
            )

        kwargs: dict[str, Any] = {"methods": list(methods), "content_types": list(content_types)}
        authorizer = gateway_authorizer() if auth != "none" else None
        if authorizer is not None:
            kwargs["authorizer"] = authorizer
        bp.route(path, **kwargs)(view)
        for method in methods:
            ROUTES.append(
                RouteDoc(
                    path=path,
                    method=method.upper(),
                    name=handler.__name__,
                    summary=summary or _first_line(handler.__doc__) or handler.__name__,
                    auth=auth,
                    body_ref=body,
                    query_ref=query,
                    response_ref=response,
                    status=status,
                    tags=tags,
                    errors=errors,
                    idempotent=idempotent,
                    produces=produces,
                )
            )
        return handler

    return decorate
