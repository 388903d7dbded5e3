"""Notification routes: the caller's inbox, read, delete; the admin send; the seed route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.api.seed import action_as
from chalicelib.errors import Invalid, NotFound

if TYPE_CHECKING:
    from chalicelib.models.common import SeedEnvelope
    from chalicelib.models.notifications import AdminNotificationCreate, NotificationQuery


bp = Blueprint(__name__)


@route(
    bp,
    "/notifications",
    query="chalicelib.models.notifications:NotificationQuery",
    response="chalicelib.models.notifications:NotificationPage",
    tags=("notifications",),
    errors=(400,),
)
def list_notifications(call: Call) -> dict[str, Any]:
    """The caller's inbox with broadcasts, newest first; `unread_count` covers both."""
    from chalicelib.services import notifications

    q: NotificationQuery = call.query
    return notifications.list_notifications(
        player_id=call.player_id,
        limit=q.limit,
        cursor=q.cursor,
        unread_only=q.unread_only,
        repo=composition.notifications_repo(),
    )


@route(
    bp,
    "/notifications/read",
    methods=("POST",),
    body="chalicelib.models.notifications:ReadRequest",
    response="chalicelib.models.notifications:ReadResult",
    tags=("notifications",),
    errors=(400,),
)
def read_notifications(call: Call) -> dict[str, Any]:
    """Mark notifications read: `{"ids": [...]}` or `{"all": true}` (broadcasts for the caller only)."""
    from chalicelib.services import notifications

    return notifications.mark_read(
        player_id=call.player_id, ids=call.body.ids, read_all=call.body.all, repo=composition.notifications_repo()
    )


@route(
    bp,
    "/notifications/{notification_id}",
    methods=("DELETE",),
    response="chalicelib.models.notifications:DeleteResult",
    tags=("notifications",),
    errors=(404,),
)
def delete_notification(call: Call, notification_id: str) -> dict[str, Any]:
    """Delete one of the caller's notifications (a broadcast is hidden for the caller only)."""
    from chalicelib.services import notifications

    return notifications.delete_notification(
        player_id=call.player_id, notification_id=notification_id, repo=composition.notifications_repo()
    )


@route(
    bp,
    "/admin/notifications",
    methods=("POST",),
    auth="admin",
    body="chalicelib.models.notifications:AdminNotificationCreate",
    response="chalicelib.models.notifications:NotificationSent",
    status=201,
    tags=("admin", "notifications"),
    errors=(400, 403, 404),
    idempotent=True,
)
def admin_send(call: Call) -> dict[str, Any]:
    """Send a notification to one player, or one broadcast that every player sees."""
    from chalicelib.services import notifications

    body: AdminNotificationCreate = call.body
    fields: dict[str, Any] = {
        "kind": body.kind,
        "title": body.title,
        "body": body.body,
        "data": body.data,
        "dedupe_key": body.dedupe_key,
        "ttl_days": body.expires_in_days,
        "config": composition.game_config(),
        "repo": composition.notifications_repo(),
    }
    if body.broadcast:
        return notifications.broadcast(**fields)
    if body.player_id is None or composition.players_repo().get_profile(body.player_id) is None:
        raise NotFound("no such player", details={"field": "player_id"})
    return notifications.send_to_player(player_id=body.player_id, push=True, **fields)


@route(
    bp,
    "/notifications",
    methods=("POST",),
    body="chalicelib.models.common:SeedEnvelope",
    response="chalicelib.models.notifications:NotificationPage",
    tags=("seed",),
    errors=(400, 404),
)
def seed_notifications(call: Call) -> dict[str, Any]:
    """Seed adapter: payload `{action: list (default) | read | read_all | delete | unread_count, ...}`."""
    envelope: SeedEnvelope = call.body
    payload = {k: v for k, v in envelope.payload.items() if k not in ("playerId", "timestamp")}
    if envelope.action is not None:
        payload.setdefault("action", envelope.action)
    from chalicelib.models.notifications import (
        SeedNotificationsDelete,
        SeedNotificationsList,
        SeedNotificationsPayload,
        SeedNotificationsRead,
        SeedNotificationsReadAll,
        SeedNotificationsUnreadCount,
    )
    from chalicelib.services import notifications

    payload.setdefault("action", "list")
    request = action_as(SeedNotificationsPayload, payload)
    repo = composition.notifications_repo()
    match request:
        case SeedNotificationsList():
            return notifications.list_notifications(
                player_id=call.player_id,
                limit=request.limit,
                cursor=request.cursor,
                unread_only=request.unread_only,
                repo=repo,
            )
        case SeedNotificationsUnreadCount():
            return {"unread_count": notifications.unread_count(player_id=call.player_id, repo=repo)}
        case SeedNotificationsReadAll():
            return notifications.mark_read(player_id=call.player_id, ids=None, read_all=True, repo=repo)
        case SeedNotificationsRead():
            if any(not notifications.ID_PATTERN.match(i) for i in request.ids):
                raise Invalid("payload.ids: give notification ids", field="payload.ids")
            return notifications.mark_read(player_id=call.player_id, ids=request.ids, read_all=False, repo=repo)
        case SeedNotificationsDelete():
            return notifications.delete_notification(player_id=call.player_id, notification_id=request.id, repo=repo)
    raise AssertionError(f"unhandled seed action {request!r}")
