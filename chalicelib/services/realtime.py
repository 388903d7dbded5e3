"""Realtime: open WebSocket connections per player, and typed messages pushed to them.

A client connects with its token (verified exactly as an HTTP request's); each open
connection is one item of the connections table, several per player (one per device).
Pushes go through API Gateway's `@connections` API (boto3's `apigatewaymanagementapi`);
a connection that is gone (`GoneException`) is forgotten, and a push never fails the
write that triggered it. Messages are `{"type", "sent_at", "data"}`, validated against
`chalicelib.models.realtime` before they leave.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import Invalid
from chalicelib.models.realtime import SERVER_MESSAGES, ClientMessage
from chalicelib.observability import logger
from chalicelib.services.notify import Notice
from chalicelib.services.tokens import Claims
from chalicelib.storage.connections import Connection, ConnectionsRepository
from chalicelib.storage.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

# API Gateway closes a connection after two hours whatever happens; the item outlives it
# a little so a late `$disconnect` still finds it, and reads skip it once expired.
CONNECTION_SECONDS = 2 * 3600
CONNECTION_GRACE_SECONDS = 300
# API Gateway closes a connection idle for 10 minutes: clients ping well within it.
HEARTBEAT_SECONDS = 240
MAX_CLIENT_MESSAGE_BYTES = 1024
PREFIX = "Achievement unlocked: "


def message(kind: str, data: dict[str, Any], now: float) -> dict[str, Any]:
    """A server message of type `kind`, checked against its schema (ValidationError if not)."""
    model = SERVER_MESSAGES[kind]
    return model.model_validate({"type": kind, "sent_at": iso(now), "data": data}).model_dump(mode="json")


def encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()


def token_of(headers: dict[str, Any] | None, query: dict[str, Any] | None) -> str:
    """The connect request's token: an `Authorization` header (native clients) or a `token`
    query parameter (browsers cannot set headers on a WebSocket)."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization" and value:
            return str(value)
    return str((query or {}).get("token") or "")


# connections --------------------------------------------------------------------------


def connect(
    *,
    connection_id: str,
    token: str,
    repo: ConnectionsRepository,
    authenticate: Callable[[dict[str, str]], Claims],
    clock: Clock = system_clock,
) -> Connection:
    """Verify the token (Unauthorized/Forbidden as for HTTP) and record the connection."""
    claims = authenticate({"authorization": token})
    now = clock()
    connection = Connection(
        connection_id=connection_id,
        player_id=claims.sub,
        connected_at=now,
        expires_at=int(now + CONNECTION_SECONDS + CONNECTION_GRACE_SECONDS),
    )
    repo.add(connection)
    logger.info("socket connected", extra={"player_id": claims.sub, "connection_id": connection_id})
    return connection


def disconnect(*, connection_id: str, repo: ConnectionsRepository) -> bool:
    """Forget a closed connection; False when it was not known (already forgotten)."""
    player_id = repo.owner(connection_id)
    if player_id is None:
        return False
    repo.remove(player_id, connection_id)
    logger.info("socket disconnected", extra={"player_id": player_id, "connection_id": connection_id})
    return True


def client_message(body: str | None, now: float) -> dict[str, Any]:
    """The answer to what a client sent: a `pong` to a ping, an `error` to anything else."""
    try:
        if body is None or len(body.encode()) > MAX_CLIENT_MESSAGE_BYTES:
            raise Invalid(f"a message is a JSON object of at most {MAX_CLIENT_MESSAGE_BYTES} bytes")
        try:
            parsed = ClientMessage.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "message"
            raise Invalid(f"{where}: {first['msg']}", field=where) from None
    except Invalid as error:
        return message("error", {"error": error.message, "code": error.code, "details": error.details}, now)
    assert parsed.action == "ping"
    return message("pong", {"server_time": iso(now)}, now)


# pushing ------------------------------------------------------------------------------


@dataclass
class Delivery:
    """What one push did: messages posted, connections found gone, posts that failed."""

    sent: int = 0
    gone: int = 0
    failed: int = 0


def post(
    api: ApiGatewayManagementApiClient,
    connection_id: str,
    data: bytes,
) -> str:
    """Post to one connection: "sent", "gone" (closed, forget it) or "failed"."""
    try:
        api.post_to_connection(ConnectionId=connection_id, Data=data)
        return "sent"
    except ClientError as exc:
        if error_code(exc) == "GoneException":
            return "gone"
        logger.warning("push failed", extra={"connection_id": connection_id, "aws_code": error_code(exc)})
        return "failed"
    except BotoCoreError as exc:
        logger.warning("push failed", extra={"connection_id": connection_id, "error": str(exc)})
        return "failed"


def _forget(repo: ConnectionsRepository, player_id: str, connection_id: str) -> None:
    try:
        repo.remove(player_id, connection_id)
    except (ClientError, BotoCoreError):
        logger.warning("gone connection not forgotten", extra={"connection_id": connection_id})


def push_to_players(
    player_ids: Iterable[str],
    msg: dict[str, Any],
    *,
    repo: ConnectionsRepository,
    api: ApiGatewayManagementApiClient,
    clock: Clock = system_clock,
) -> Delivery:
    """Send one message to every open connection of these players, and only theirs."""
    data = encode(msg)
    delivery = Delivery()
    now = clock()
    for player_id in dict.fromkeys(player_ids):
        try:
            connections = repo.of_player(player_id, now)
        except (ClientError, BotoCoreError):
            logger.warning("connections unreadable", extra={"player_id": player_id})
            delivery.failed += 1
            continue
        for connection in connections:
            outcome = post(api, connection.connection_id, data)
            if outcome == "gone":
                _forget(repo, player_id, connection.connection_id)
            setattr(delivery, outcome, getattr(delivery, outcome) + 1)
    logger.info(
        "pushed", extra={"type": msg["type"], "sent": delivery.sent, "gone": delivery.gone, "failed": delivery.failed}
    )
    return delivery


def push_to_everyone(
    msg: dict[str, Any], *, repo: ConnectionsRepository, api: ApiGatewayManagementApiClient
) -> Delivery:
    """Send one message to every open connection (a broadcast)."""
    data = encode(msg)
    delivery = Delivery()
    for player_id, connection_id in repo.every_open():
        outcome = post(api, connection_id, data)
        if outcome == "gone":
            _forget(repo, player_id, connection_id)
        setattr(delivery, outcome, getattr(delivery, outcome) + 1)
    logger.info("broadcast pushed", extra={"sent": delivery.sent, "gone": delivery.gone, "failed": delivery.failed})
    return delivery


def notice_message(notice: Notice, notification_id: str | None, now: float) -> dict[str, Any] | None:
    """The typed message for a notice from another service (None: nothing to push)."""
    data = {**notice.data, **notice.push_data}
    if notice.kind == "match_found":
        return message("match_found", {**data, "notification_id": notification_id}, now)
    if notice.kind == "achievement_unlocked":
        title = str(data.get("title") or notice.title.removeprefix(PREFIX))
        return message(
            "achievement_unlocked",
            {
                "achievement_id": data.get("achievement_id"),
                "title": title,
                "description": data.get("description", notice.body),
                "points": data.get("points", 0),
                "notification_id": notification_id,
            },
            now,
        )
    if notice.kind == "leaderboard_period_ended":
        return message("period_closed", {**data, "notification_id": notification_id}, now)
    if notification_id is None:
        return None  # nothing in the inbox to point at
    return message(
        "notification",
        {
            "id": notification_id,
            "kind": notice.kind,
            "title": notice.title,
            "body": notice.body,
            "data": notice.data,
            "created_at": iso(now),
            "expires_at": None,
        },
        now,
    )


class Pusher:
    """What `notify` calls: pushes through the configured `@connections` endpoint."""

    def __init__(
        self,
        *,
        repo: Callable[[], ConnectionsRepository],
        api: Callable[[], ApiGatewayManagementApiClient | None],
        clock: Clock = system_clock,
    ) -> None:
        self._repo = repo
        self._api = api
        self._clock = clock

    def notice(self, notice: Notice, notification_id: str | None) -> None:
        api = self._api()
        msg = notice_message(notice, notification_id, self._clock()) if api is not None else None
        if api is not None and msg is not None:
            push_to_players([notice.player_id], msg, repo=self._repo(), api=api, clock=self._clock)

    def signal(self, player_ids: list[str], kind: str, data: dict[str, Any]) -> None:
        api = self._api()
        if api is not None:
            msg = message(kind, data, self._clock())
            push_to_players(player_ids, msg, repo=self._repo(), api=api, clock=self._clock)

    def announce(self, notification: dict[str, Any]) -> None:
        api = self._api()
        if api is not None:
            push_to_everyone(message("notification", notification, self._clock()), repo=self._repo(), api=api)


def close_player(
    *,
    player_id: str,
    repo: ConnectionsRepository,
    api: ApiGatewayManagementApiClient | None,
    clock: Clock = system_clock,
) -> int:
    """Close every open connection of a player (banned or deleted); how many were asked to close."""
    if api is None:
        return 0
    closed = 0
    for connection in repo.of_player(player_id, clock()):
        try:
            api.delete_connection(ConnectionId=connection.connection_id)
            closed += 1
        except (ClientError, BotoCoreError):
            pass  # already closed, or the gateway is unreachable: it cannot reconnect anyway
    return closed


def erase_player(
    *,
    player_id: str,
    repo: ConnectionsRepository,
    api: ApiGatewayManagementApiClient | None,
    clock: Clock = system_clock,
) -> int:
    """Close the player's open connections (a deleted account keeps no socket), then forget them."""
    close_player(player_id=player_id, repo=repo, api=api, clock=clock)
    return repo.erase(player_id)
