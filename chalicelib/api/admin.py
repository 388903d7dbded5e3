"""Admin routes (the `admins` group): player lookup and server-side stat writes."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, route
from chalicelib.errors import NotFound
from chalicelib.game_config import get_game_config
from chalicelib.models.players import PlayerPublic, ServerStatsUpdate, StatsView
from chalicelib.services import players, stats
from chalicelib.storage.players import PlayersRepository

bp = Blueprint(__name__)


@route(bp, "/admin/players/{player_id}", auth="admin", response=PlayerPublic, tags=("admin",), errors=(403, 404))
def admin_get_player(call: Call, player_id: str) -> dict[str, Any]:
    """Look up a player's profile by id."""
    item = PlayersRepository().get_profile(player_id)
    if item is None:
        raise NotFound("no such player")
    return players.profile_view(item)


@route(bp, "/admin/players/{player_id}/stats", auth="admin", response=StatsView, tags=("admin",), errors=(403,))
def admin_get_stats(call: Call, player_id: str) -> dict[str, Any]:
    """Read any player's stats."""
    return stats.get_stats(player_id=player_id, config=get_game_config(), repo=PlayersRepository())


@route(
    bp,
    "/admin/players/{player_id}/stats",
    methods=("POST",),
    auth="admin",
    body=ServerStatsUpdate,
    response=StatsView,
    tags=("admin",),
    errors=(400, 403, 404),
)
def admin_post_stats(call: Call, player_id: str) -> dict[str, Any]:
    """The game server's path: write any stat, server-only ones included, for a player."""
    if PlayersRepository().get_profile(player_id) is None:
        raise NotFound("no such player")
    return stats.update_stats(
        player_id=player_id,
        updates=call.body.updates,
        writer="server",
        config=get_game_config(),
        repo=PlayersRepository(),
    )
