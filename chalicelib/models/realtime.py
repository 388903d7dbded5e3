"""The WebSocket messages: what the server pushes and what a client may send.

Every message is one JSON object `{"type", "sent_at", "data"}`; `type` says which model
`data` follows. `message_schemas()` gives a JSON schema per message type (served in
`/openapi.json` under `x-websocket-messages`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class MatchFoundData(BaseModel):
    match_id: str
    queue: str
    region: str
    ticket_id: str | None = Field(None, description="The receiving player's ticket in this match.")
    teams: list[list[str]] = Field(default_factory=list, description="Player ids, team by team.")
    players: list[str] = Field(default_factory=list)
    notification_id: str | None = Field(None, description="The inbox item kept for the same event.")


class NotificationData(BaseModel):
    """A new inbox item or broadcast, as `GET /notifications` lists it."""

    id: str
    kind: str
    title: str
    body: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: str
    expires_at: str | None = None
    read: bool = False
    broadcast: bool = False


class AchievementUnlockedData(BaseModel):
    achievement_id: str
    title: str
    description: str = ""
    points: int = 0
    notification_id: str | None = None


class TicketTimedOutData(BaseModel):
    ticket_id: str
    queue: str
    region: str


class PeriodClosedData(BaseModel):
    """The player finished in the top of a leaderboard period that has just closed."""

    board: str
    period: str
    rank: int
    score: float
    notification_id: str | None = None


class PongData(BaseModel):
    server_time: str


class ErrorData(BaseModel):
    error: str
    code: str
    details: Any = None


class _Message(BaseModel):
    sent_at: str = Field(description="When the server sent it (ISO 8601, UTC).")


class MatchFoundMessage(_Message):
    type: Literal["match_found"] = "match_found"
    data: MatchFoundData


class NotificationMessage(_Message):
    type: Literal["notification"] = "notification"
    data: NotificationData


class AchievementUnlockedMessage(_Message):
    type: Literal["achievement_unlocked"] = "achievement_unlocked"
    data: AchievementUnlockedData


class TicketTimedOutMessage(_Message):
    type: Literal["ticket_timed_out"] = "ticket_timed_out"
    data: TicketTimedOutData


class PeriodClosedMessage(_Message):
    type: Literal["period_closed"] = "period_closed"
    data: PeriodClosedData


class PongMessage(_Message):
    type: Literal["pong"] = "pong"
    data: PongData


class ErrorMessage(_Message):
    type: Literal["error"] = "error"
    data: ErrorData


class ClientMessage(BaseModel):
    """What a client sends: `{"action": "ping"}` (a heartbeat; the answer is a `pong`)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["ping"]


SERVER_MESSAGES: dict[str, type[_Message]] = {
    "match_found": MatchFoundMessage,
    "notification": NotificationMessage,
    "achievement_unlocked": AchievementUnlockedMessage,
    "ticket_timed_out": TicketTimedOutMessage,
    "period_closed": PeriodClosedMessage,
    "pong": PongMessage,
    "error": ErrorMessage,
}


def message_schemas() -> dict[str, Any]:
    """A JSON schema per message: server messages by type, and the client's message."""
    schemas: dict[str, Any] = {name: model.model_json_schema() for name, model in SERVER_MESSAGES.items()}
    schemas["client"] = ClientMessage.model_json_schema()
    return schemas
