"""Leaderboard requests and responses."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chalicelib.models.common import FiniteNumber, RequestModel, ResponseModel

PeriodId = str


class ScoreSubmit(RequestModel):
    score: FiniteNumber = Field(description="The score (best, latest) or the amount to add (sum boards)")


class TopQuery(RequestModel):
    limit: int = Field(default=10, ge=1, description="Page size, capped at 100")
    cursor: str | None = Field(default=None, max_length=512)
    period: PeriodId | None = Field(default=None, max_length=16, description="A past period id; default: current")


class StandingQuery(RequestModel):
    around: int = Field(default=5, ge=0, description="Neighbours each side, capped at 25")
    period: PeriodId | None = Field(default=None, max_length=16)


class PlayersQuery(RequestModel):
    ids: str = Field(max_length=13000, description="Comma-separated player ids, at most 100")
    period: PeriodId | None = Field(default=None, max_length=16)


class PeriodsQuery(RequestModel):
    limit: int = Field(default=10, ge=1, description="Page size, capped at 20")
    cursor: str | None = Field(default=None, max_length=512)


class EntryView(ResponseModel):
    rank: int = Field(description="Dense: 1 + entries ahead (score, then earlier, then player id)")
    player_id: str
    display_name: str
    score: float | int
    reached_at: str = Field(description="When the player reached this score")


class BoardView(ResponseModel):
    id: str
    title: str
    order: str
    write_mode: str
    reset: str
    min: float
    max: float
    decimals: int
    max_delta: float | None = None
    writer: str
    source_stat: str | None = None
    direct_scores: bool = Field(default=False, description="A board fed by a stat that also takes direct scores")
    current_period: str
    period_started_at: str | None = None
    next_reset_at: str | None = None


class BoardsView(ResponseModel):
    leaderboards: list[BoardView]


class LeaderboardPage(ResponseModel):
    board: str
    period: str
    entries: list[EntryView]
    next_cursor: str | None = None
    total_entries: int


class StandingView(ResponseModel):
    board: str
    period: str
    entry: EntryView | None = None
    entries: list[EntryView] = Field(description="The window around the player, best first, the player included")
    total_entries: int


class SubmitResult(ResponseModel):
    board: str
    period: str
    changed: bool = Field(description="False when the write mode kept the stored entry")
    entry: EntryView
    total_entries: int


class PlayersEntries(ResponseModel):
    board: str
    period: str
    entries: list[EntryView]
    total_entries: int


class PeriodView(ResponseModel):
    period: str
    status: str
    started_at: str | None = None
    ended_at: str | None = None
    closed_at: str | None = None
    total_entries: int
    top: list[EntryView]


class PeriodsPage(ResponseModel):
    board: str
    periods: list[PeriodView]
    next_cursor: str | None = None


class SeedLeaderboardPayload(RequestModel):
    leaderboard_type: str = Field(default="global", max_length=40)
    limit: int = Field(default=100, ge=1)
    player_id: Any = None  # sent by the seed client, ignored: identity comes from the token


class SeedLeaderboardEntry(ResponseModel):
    rank: int
    player_id: str
    player_name: str
    score: float | int
    last_updated: str


class SeedLeaderboardResponse(ResponseModel):
    leaderboard: list[SeedLeaderboardEntry]
    player_rank: int | None = None
    leaderboard_type: str
    total_entries: int
