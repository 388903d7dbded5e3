"""Matchmaking request and response models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from chalicelib.models.common import RequestModel, ResponseModel

PlayerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class TicketCreate(RequestModel):
    queue: str = Field(min_length=1, max_length=40, description="A queue id from GET /config")
    region: str = Field(min_length=1, max_length=40, description="One of the queue's regions")
    party: list[PlayerId] | None = Field(
        default=None,
        max_length=63,
        description="The other members' player ids; each confirms with POST /matchmaking/tickets/{id}/join",
    )


class MatchPublic(ResponseModel):
    match_id: str
    queue: str
    region: str
    teams: list[list[str]]
    players: list[str]
    created_at: str


class TicketPublic(ResponseModel):
    ticket_id: str
    queue: str
    region: str
    status: str = Field(description="forming | searching | matched | timed_out | cancelled")
    leader: str
    members: list[str]
    joined: list[str]
    created_at: str
    timeout_at: str
    skill_window: float | None = None
    estimated_wait_seconds: float | None = None
    match_id: str | None = None
    match: MatchPublic | None = None


class SeedMatchmakingPayload(RequestModel):
    """The seed client's payload; `skill_level` is accepted and ignored (the server's skill counts)."""

    game_mode: str = Field(default="standard", min_length=1, max_length=40)
    skill_level: Any = None
    region: str = Field(default="us-east-1", min_length=1, max_length=40)


class SeedMatchmakingResponse(ResponseModel):
    status: str
    match_id: str | None = None
    opponent_id: str | None = None
    request_id: str | None = None
    game_mode: str
    estimated_wait_time: float
