"""Matchmaking routes: tickets (create, poll, join, cancel), matches, and the seed adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.api.seed import payload_as

if TYPE_CHECKING:
    from chalicelib.models.matchmaking import SeedMatchmakingPayload


bp = Blueprint(__name__)
TAGS = ("matchmaking",)


@route(
    bp,
    "/matchmaking/tickets",
    methods=("POST",),
    body="chalicelib.models.matchmaking:TicketCreate",
    response="chalicelib.models.matchmaking:TicketPublic",
    status=201,
    tags=TAGS,
    errors=(400, 409),
    idempotent=True,
)
def create_ticket(call: Call) -> dict[str, Any]:
    """Queue up (a party: name its members, who each join); 409 with your open ticket."""
    from chalicelib.services import matchmaking

    return matchmaking.create_ticket(
        player_id=call.player_id,
        queue_id=call.body.queue,
        region=call.body.region,
        party=call.body.party,
        config=composition.game_config(),
        repo=composition.matchmaking_repo(),
        players=composition.players_repo(),
    )


@route(
    bp,
    "/matchmaking/tickets/{ticket_id}",
    response="chalicelib.models.matchmaking:TicketPublic",
    tags=TAGS,
    errors=(404,),
)
def poll_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """A ticket's status, with the match once matched; polling also tries to match it."""
    from chalicelib.services import matchmaking

    return matchmaking.poll_ticket(
        player_id=call.player_id,
        ticket_id=ticket_id,
        config=composition.game_config(),
        repo=composition.matchmaking_repo(),
    )


@route(
    bp,
    "/matchmaking/tickets/{ticket_id}/join",
    methods=("POST",),
    response="chalicelib.models.matchmaking:TicketPublic",
    tags=TAGS,
    errors=(404, 409),
)
def join_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """Confirm your place in a party's ticket; the last member's join starts the search."""
    from chalicelib.services import matchmaking

    return matchmaking.join_ticket(
        player_id=call.player_id,
        ticket_id=ticket_id,
        config=composition.game_config(),
        repo=composition.matchmaking_repo(),
        players=composition.players_repo(),
    )


@route(
    bp,
    "/matchmaking/tickets/{ticket_id}",
    methods=("DELETE",),
    response="chalicelib.models.matchmaking:TicketPublic",
    tags=TAGS,
    errors=(404, 409),
)
def cancel_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """Cancel an open ticket (409 with the match once matched)."""
    from chalicelib.services import matchmaking

    return matchmaking.cancel_ticket(
        player_id=call.player_id,
        ticket_id=ticket_id,
        config=composition.game_config(),
        repo=composition.matchmaking_repo(),
    )


@route(
    bp,
    "/matchmaking/matches/{match_id}",
    response="chalicelib.models.matchmaking:MatchPublic",
    tags=TAGS,
    errors=(404,),
)
def get_match(call: Call, match_id: str) -> dict[str, Any]:
    """A match (teams, players, region), for its players."""
    from chalicelib.services import matchmaking

    return matchmaking.get_match(player_id=call.player_id, match_id=match_id, repo=composition.matchmaking_repo())


@route(
    bp,
    "/matchmaking",
    methods=("POST",),
    body="chalicelib.models.common:SeedEnvelope",
    response="chalicelib.models.matchmaking:SeedMatchmakingResponse",
    tags=("seed",),
    errors=(400,),
)
def seed_matchmaking(call: Call) -> dict[str, Any]:
    """Seed adapter: search (or keep polling your open ticket) in the `game_mode` queue."""
    from chalicelib.models.matchmaking import SeedMatchmakingPayload
    from chalicelib.services import matchmaking

    raw = {k: v for k, v in call.body.payload.items() if k not in ("action", "playerId", "timestamp")}
    payload: SeedMatchmakingPayload = payload_as(SeedMatchmakingPayload, raw)
    return matchmaking.seed_search(
        player_id=call.player_id,
        queue_id=payload.game_mode,
        region=payload.region,
        config=composition.game_config(),
        repo=composition.matchmaking_repo(),
        players=composition.players_repo(),
    )
