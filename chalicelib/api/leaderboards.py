"""Leaderboard routes, and the seed client's `/leaderboard` over the same service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.api.seed import payload_as

if TYPE_CHECKING:
    from chalicelib.models.leaderboards import (
        PeriodsQuery,
        PlayersQuery,
        SeedLeaderboardPayload,
        StandingQuery,
        TopQuery,
    )


bp = Blueprint(__name__)
TAGS = ("leaderboards",)


@route(bp, "/leaderboards", response="chalicelib.models.leaderboards:BoardsView", tags=TAGS)
def list_boards(call: Call) -> dict[str, Any]:
    """Every board: its definition, current period and next reset."""
    from chalicelib.services import leaderboards

    return leaderboards.describe_boards(config=composition.game_config())


@route(
    bp,
    "/leaderboards/{board_id}",
    query="chalicelib.models.leaderboards:TopQuery",
    response="chalicelib.models.leaderboards:LeaderboardPage",
    tags=TAGS,
    errors=(400, 404),
)
def get_top(call: Call, board_id: str) -> dict[str, Any]:
    """The best entries, a page at a time (opaque cursor), of the current or a past period."""
    from chalicelib.services import leaderboards

    board = leaderboards.board_of(composition.game_config(), board_id)
    q: TopQuery = call.query
    return leaderboards.top(
        board_id=board_id,
        board=board,
        limit=q.limit,
        cursor=q.cursor,
        period=q.period,
        repo=composition.leaderboards_repo(),
        names=composition.display_names,
    )


@route(
    bp,
    "/leaderboards/{board_id}/me",
    query="chalicelib.models.leaderboards:StandingQuery",
    response="chalicelib.models.leaderboards:StandingView",
    tags=TAGS,
    errors=(400, 404),
)
def get_me(call: Call, board_id: str) -> dict[str, Any]:
    """The caller's entry, exact rank and `around` neighbours each side."""
    from chalicelib.services import leaderboards

    board = leaderboards.board_of(composition.game_config(), board_id)
    q: StandingQuery = call.query
    return leaderboards.standing(
        board_id=board_id,
        board=board,
        player_id=call.player_id,
        around=q.around,
        period=q.period,
        repo=composition.leaderboards_repo(),
        names=composition.display_names,
    )


@route(
    bp,
    "/leaderboards/{board_id}/scores",
    methods=("POST",),
    body="chalicelib.models.leaderboards:ScoreSubmit",
    response="chalicelib.models.leaderboards:SubmitResult",
    tags=TAGS,
    errors=(400, 403, 404, 409),
    idempotent=True,
)
def post_score(call: Call, board_id: str) -> dict[str, Any]:
    """Submit a score for the caller by the board's write mode; the entry and its rank."""
    from chalicelib.services import leaderboards

    board = leaderboards.board_of(composition.game_config(), board_id)
    return leaderboards.submit_score(
        board_id=board_id,
        board=board,
        player_id=call.player_id,
        score=call.body.score,
        writer="client",
        repo=composition.leaderboards_repo(),
        names=composition.display_names,
    )


@route(
    bp,
    "/leaderboards/{board_id}/players",
    query="chalicelib.models.leaderboards:PlayersQuery",
    response="chalicelib.models.leaderboards:PlayersEntries",
    tags=TAGS,
    errors=(400, 404),
)
def get_players(call: Call, board_id: str) -> dict[str, Any]:
    """Entries of chosen players (e.g. the client's friends list), with exact ranks."""
    from chalicelib.services import leaderboards

    board = leaderboards.board_of(composition.game_config(), board_id)
    q: PlayersQuery = call.query
    return leaderboards.chosen_players(
        board_id=board_id,
        board=board,
        player_ids=leaderboards.parse_ids(q.ids),
        period=q.period,
        repo=composition.leaderboards_repo(),
        names=composition.display_names,
    )


@route(
    bp,
    "/leaderboards/{board_id}/periods",
    query="chalicelib.models.leaderboards:PeriodsQuery",
    response="chalicelib.models.leaderboards:PeriodsPage",
    tags=TAGS,
    errors=(400, 404),
)
def get_periods(call: Call, board_id: str) -> dict[str, Any]:
    """Closed periods, newest first, with their final top standings."""
    from chalicelib.services import leaderboards

    board = leaderboards.board_of(composition.game_config(), board_id)
    q: PeriodsQuery = call.query
    return leaderboards.archived_periods(
        board_id=board_id,
        board=board,
        limit=q.limit,
        cursor=q.cursor,
        repo=composition.leaderboards_repo(),
        names=composition.display_names,
    )


@route(
    bp,
    "/leaderboard",
    methods=("POST",),
    body="chalicelib.models.common:SeedEnvelope",
    response="chalicelib.models.leaderboards:SeedLeaderboardResponse",
    tags=("seed",),
    errors=(400, 404),
)
def seed_leaderboard(call: Call) -> dict[str, Any]:
    """Seed adapter: the top of `leaderboard_type` (limit capped at 100) and the caller's rank."""
    from chalicelib.models.leaderboards import SeedLeaderboardPayload
    from chalicelib.services import leaderboards

    payload: SeedLeaderboardPayload = payload_as(SeedLeaderboardPayload, call.body.payload)
    board_id = payload.leaderboard_type
    board = leaderboards.board_of(composition.game_config(), board_id)
    repo = composition.leaderboards_repo()
    page = leaderboards.top(
        board_id=board_id,
        board=board,
        limit=payload.limit,
        cursor=None,
        period=None,
        repo=repo,
        names=composition.display_names,
    )
    mine = leaderboards.standing(
        board_id=board_id,
        board=board,
        player_id=call.player_id,
        around=0,
        period=None,
        repo=repo,
        names=composition.display_names,
    )
    return {
        "leaderboard": [
            {
                "rank": e["rank"],
                "player_id": e["player_id"],
                "player_name": e["display_name"],
                "score": e["score"],
                "last_updated": e["reached_at"],
            }
            for e in page["entries"]
        ],
        "player_rank": mine["entry"]["rank"] if mine["entry"] else None,
        "leaderboard_type": board_id,
        "total_entries": page["total_entries"],
    }
