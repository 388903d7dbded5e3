"""Notification requests and views."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from chalicelib.models.common import RequestModel, ResponseModel

NotificationId = Annotated[str, Field(pattern=r"^[nb][0-9]{13}[0-9a-f]{8}$")]


class NotificationQuery(RequestModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)
    unread_only: bool = False


class NotificationView(ResponseModel):
    id: str
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: str
    expires_at: str
    read: bool
    broadcast: bool = Field(description="Sent to everyone; read and delete affect only the caller's view")


class NotificationPage(ResponseModel):
    notifications: list[NotificationView]
    next_cursor: str | None = None
    unread_count: int


class ReadRequest(RequestModel):
    """Either `ids` (at most 100) or `all: true`."""

    ids: list[NotificationId] = Field(default_factory=list, max_length=100)
    all: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> ReadRequest:
        if self.all == bool(self.ids):
            raise ValueError("give either ids or all: true")
        return self


class ReadResult(ResponseModel):
    marked: int
    unread_count: int


class DeleteResult(ResponseModel):
    id: str
    deleted: bool = True


class AdminNotificationCreate(RequestModel):
    """To one player (`player_id`) or to everyone (`broadcast: true`)."""

    player_id: str | None = Field(default=None, min_length=1, max_length=128)
    broadcast: bool = False
    kind: str = Field(default="admin", pattern=r"^[a-z][a-z0-9_]{0,39}$")
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(default="", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, max_length=20)
    dedupe_key: str | None = Field(default=None, min_length=1, max_length=128)
    expires_in_days: int | None = Field(
        default=None, ge=1, le=365, strict=True, description="Days it stays (default: the game's ttl_days)"
    )

    @model_validator(mode="after")
    def _one_target(self) -> AdminNotificationCreate:
        if self.broadcast == (self.player_id is not None):
            raise ValueError("give either player_id or broadcast: true")
        return self


class NotificationSent(ResponseModel):
    id: str | None = Field(description="None when dedupe_key matched an earlier send")
    player_id: str | None
    broadcast: bool
    duplicate: bool


class _SeedNotificationsFields(RequestModel):
    """What the seed's `/notifications` payload may carry, whatever its action."""

    limit: int = Field(default=20, ge=1, le=100, strict=True)
    cursor: str | None = Field(default=None, max_length=200)
    unread_only: bool = False
    ids: list[str] = Field(default_factory=list, max_length=100)
    id: str | None = Field(default=None, max_length=40)


class SeedNotificationsList(_SeedNotificationsFields):
    action: Literal["list"] = "list"


class SeedNotificationsUnreadCount(_SeedNotificationsFields):
    action: Literal["unread_count"]


class SeedNotificationsReadAll(_SeedNotificationsFields):
    action: Literal["read_all"]


class SeedNotificationsRead(_SeedNotificationsFields):
    action: Literal["read"]
    ids: list[str] = Field(min_length=1, max_length=100, description="Notification ids to mark read")


class SeedNotificationsDelete(_SeedNotificationsFields):
    action: Literal["delete"]
    id: str = Field(max_length=40, description="The notification to delete")


SeedNotificationsPayload = Annotated[
    SeedNotificationsList
    | SeedNotificationsUnreadCount
    | SeedNotificationsReadAll
    | SeedNotificationsRead
    | SeedNotificationsDelete,
    Field(discriminator="action"),
]
