"""Matchmaking routes: tickets (create, poll, join, cancel), matches, and the seed adapter."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, route
from chalicelib.api.seed import payload_as
from chalicelib.game_config import get_game_config
from chalicelib.models.common import SeedEnvelope
from chalicelib.models.matchmaking import (
    MatchPublic,
    SeedMatchmakingPayload,
    SeedMatchmakingResponse,
    TicketCreate,
    TicketPublic,
)
from chalicelib.services import matchmaking
from chalicelib.storage.matchmaking import MatchmakingRepository
from chalicelib.storage.players import PlayersRepository

bp = Blueprint(__name__)
TAGS = ("matchmaking",)


@route(
    bp,
    "/matchmaking/tickets",
    methods=("POST",),
    body=TicketCreate,
    response=TicketPublic,
    status=201,
    tags=TAGS,
    errors=(400, 409),
    idempotent=True,
)
def create_ticket(call: Call) -> dict[str, Any]:
    """Queue up (a party: name its members, who each join); 409 with your open ticket."""
    return matchmaking.create_ticket(
        player_id=call.player_id,
        queue_id=call.body.queue,
        region=call.body.region,
        party=call.body.party,
        config=get_game_config(),
        repo=MatchmakingRepository(),
        players=PlayersRepository(),
    )


@route(bp, "/matchmaking/tickets/{ticket_id}", response=TicketPublic, tags=TAGS, errors=(404,))
def poll_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """A ticket's status, with the match once matched; polling also tries to match it."""
    return matchmaking.poll_ticket(
        player_id=call.player_id, ticket_id=ticket_id, config=get_game_config(), repo=MatchmakingRepository()
    )


@route(
    bp, "/matchmaking/tickets/{ticket_id}/join", methods=("POST",), response=TicketPublic, tags=TAGS, errors=(404, 409)
)
def join_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """Confirm your place in a party's ticket; the last member's join starts the search."""
    return matchmaking.join_ticket(
        player_id=call.player_id,
        ticket_id=ticket_id,
        config=get_game_config(),
        repo=MatchmakingRepository(),
        players=PlayersRepository(),
    )


@route(bp, "/matchmaking/tickets/{ticket_id}", methods=("DELETE",), response=TicketPublic, tags=TAGS, errors=(404, 409))
def cancel_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """Cancel an open ticket (409 with the match once matched)."""
    return matchmaking.cancel_ticket(
        player_id=call.player_id, ticket_id=ticket_id, config=get_game_config(), repo=MatchmakingRepository()
    )


@route(bp, "/matchmaking/matches/{match_id}", response=MatchPublic, tags=TAGS, errors=(404,))
def get_match(call: Call, match_id: str) -> dict[str, Any]:
    """A match (teams, players, region), for its players."""
    return matchmaking.get_match(player_id=call.player_id, match_id=match_id, repo=MatchmakingRepository())


@route(
    bp,
    "/matchmaking",
    methods=("POST",),
    body=SeedEnvelope,
    response=SeedMatchmakingResponse,
    tags=("seed",),
    errors=(400,),
)
def seed_matchmaking(call: Call) -> dict[str, Any]:
    """Seed adapter: search (or keep polling your open ticket) in the `game_mode` queue."""
    raw = {k: v for k, v in call.body.payload.items() if k not in ("action", "playerId", "timestamp")}
    payload: SeedMatchmakingPayload = payload_as(SeedMatchmakingPayload, raw)
    return matchmaking.seed_search(
        player_id=call.player_id,
        queue_id=payload.game_mode,
        region=payload.region,
        config=get_game_config(),
        repo=MatchmakingRepository(),
        players=PlayersRepository(),
    )
