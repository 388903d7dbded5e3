"""The WebSocket API's three handlers ($connect, $default, $disconnect), thin as routes.

app.py registers them with `on_ws_connect`, `on_ws_message` and `on_ws_disconnect`; the
local gateway (local_backend/ws_gateway.py) calls the same functions with API Gateway's
event shape. A refused `$connect` answers the HTTP status and error body a route would
(401 for a missing, bad or expired token or a deleted account, 403 for a banned one), so
the client's upgrade fails with it.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import composition
from chalicelib.api.http import error_body
from chalicelib.api.identity import authenticate
from chalicelib.errors import AppError, Throttled
from chalicelib.observability import logger
from chalicelib.services.tokens import Claims
from chalicelib.storage.errors import translate_client_error

OK = {"statusCode": 200}


def _refusal(error: AppError) -> dict[str, Any]:
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(error_body(error)),
    }


def verify_caller(headers: dict[str, str]) -> Claims:
    """Exactly what an HTTP route checks: the token, then the account's status
    (401 `account_deleted`, 403 `account_banned`)."""
    from chalicelib.services import account_status

    claims = authenticate(headers)
    account_status.check_active(player_id=claims.sub, repo=composition.players_repo())
    return claims


def on_connect(event: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.services import realtime

    context = event.get("requestContext") or {}
    try:
        realtime.connect(
            connection_id=str(context["connectionId"]),
            token=realtime.token_of(event.get("headers"), event.get("queryStringParameters")),
            repo=composition.connections_repo(),
            authenticate=verify_caller,
        )
    except AppError as error:
        logger.info("socket refused", extra={"code": error.code, "status": error.status})
        return _refusal(error)
    except ClientError as exc:
        return _refusal(translate_client_error(exc))
    except BotoCoreError:
        return _refusal(Throttled("the store is unreachable, retry shortly", code="unavailable"))
    return OK


def on_message(event: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.services import realtime

    context = event.get("requestContext") or {}
    reply = realtime.client_message(event.get("body"), realtime.system_clock())
    api = composition.connections_api()
    if api is not None:
        realtime.post(api, str(context["connectionId"]), realtime.encode(reply))
    return OK


def on_disconnect(event: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.services import realtime

    context = event.get("requestContext") or {}
    try:
        realtime.disconnect(connection_id=str(context["connectionId"]), repo=composition.connections_repo())
    except (ClientError, BotoCoreError):
        # The item expires with the connection's two hours; pushes skip it or find it gone.
        logger.warning("disconnect not recorded", extra={"connection_id": context.get("connectionId")})
    return OK


def close_player(player_id: str) -> None:
    """Close a player's open sockets (a ban); never fails the caller."""
    from chalicelib.services import realtime

    try:
        realtime.close_player(
            player_id=player_id, repo=composition.connections_repo(), api=composition.connections_api()
        )
    except (ClientError, BotoCoreError):
        logger.warning("sockets not closed", extra={"player_id": player_id})
