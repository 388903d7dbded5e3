"""Models of the console's admin routes: player search, entry removal, queues, audit log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.models.common import RequestModel, ResponseModel
from chalicelib.models.players import PlayerPublic


class PlayerSearchQuery(RequestModel):
    q: str = Field(min_length=1, max_length=256, description="A player id, an email, or a display name (any case)")


class PlayerSearchResult(ResponseModel):
    matched_by: Literal["id", "email", "name", "none"]
    players: list[PlayerPublic]


class ReasonBody(RequestModel):
    reason: str | None = Field(default=None, max_length=500, description="Why; kept in the audit log")


class EntryRemoveQuery(RequestModel):
    period: str | None = Field(default=None, max_length=32, description="A period of the board (default: current)")


class EntryRemoved(ResponseModel):
    board: str
    period: str
    player_id: str
    removed: bool = Field(description="False when there was no entry (a retried removal)")
    score: float | None
    removed_from_archive: bool


class RegionWaiting(ResponseModel):
    region: str
    waiting: int
    capped: bool = Field(description="True when there are at least `waiting` tickets (counting stopped there)")


class QueueOverview(ResponseModel):
    queue: str
    rules: dict[str, Any]
    regions: list[RegionWaiting]


class RecentMatch(ResponseModel):
    match_id: str
    queue: str
    region: str
    teams: list[list[str]]
    players: list[str]
    created_at: str


class MatchmakingOverview(ResponseModel):
    queues: list[QueueOverview]
    matches_last_hour: int
    matches_last_hour_capped: bool
    recent_matches: list[RecentMatch]


class AdminConfigView(ResponseModel):
    config: dict[str, Any] = Field(description="The whole game.json as validated (server-only parts included)")


class AuditQuery(RequestModel):
    target: str | None = Field(default=None, min_length=1, max_length=128, description="Only entries about this target")
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class AuditEntry(ResponseModel):
    id: str
    at: str
    actor: str
    actor_id: str
    action: str
    method: str
    path: str
    params: dict[str, str]
    target: str
    reason: str | None = Field(default=None, description="Why, as the admin gave it; absent when none was given")
    details: str = Field(description="The request body as JSON (clipped)")
    status: int


class AuditPage(ResponseModel):
    entries: list[AuditEntry]
    next_cursor: str | None
