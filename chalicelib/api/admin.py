"""Admin routes (the `admins` group): player lookup, bans and server-side stat writes."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import realtime
from chalicelib.api.http import Call, route
from chalicelib.errors import NotFound
from chalicelib.game_config import get_game_config
from chalicelib.models.players import (
    AccountStatusView,
    BanRequest,
    PlayerPatch,
    PlayerPublic,
    ServerStatsUpdate,
    StatsView,
)
from chalicelib.services import account_status, players, stats
from chalicelib.storage.players import PlayersRepository

bp = Blueprint(__name__)


@route(bp, "/admin/players/{player_id}", auth="admin", response=PlayerPublic, tags=("admin",), errors=(403, 404))
def admin_get_player(call: Call, player_id: str) -> dict[str, Any]:
    """Look up a player's profile by id."""
    item = PlayersRepository().get_profile(player_id)
    if item is None:
        raise NotFound("no such player")
    return players.profile_view(item)


@route(
    bp,
    "/admin/players/{player_id}",
    methods=("PATCH",),
    auth="admin",
    body=PlayerPatch,
    response=PlayerPublic,
    tags=("admin",),
    errors=(400, 403, 404),
)
def admin_rename_player(call: Call, player_id: str) -> dict[str, Any]:
    """Rename a player (moderation), under the same display-name rule as the player's own."""
    repo = PlayersRepository()
    if repo.get_profile(player_id) is None:
        raise NotFound("no such player")
    return players.rename(player_id=player_id, username="", display_name=call.body.display_name, repo=repo)


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
    idempotent=True,
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


@route(
    bp,
    "/admin/players/{player_id}/status",
    auth="admin",
    response=AccountStatusView,
    tags=("admin",),
    errors=(403,),
)
def admin_get_status(call: Call, player_id: str) -> dict[str, Any]:
    """A player's account status: `active`, `banned` or `deleted`, with the reason and who set it."""
    return account_status.status_view(player_id, PlayersRepository().get_account_status(player_id))


def _set_ban(call: Call, player_id: str, *, banned: bool) -> dict[str, Any]:
    return account_status.set_ban(
        player_id=player_id, banned=banned, reason=call.body.reason, admin_id=call.player_id, repo=PlayersRepository()
    )


@route(
    bp,
    "/admin/players/{player_id}/ban",
    methods=("POST",),
    auth="admin",
    body=BanRequest,
    response=AccountStatusView,
    tags=("admin",),
    errors=(400, 403, 404, 409),
)
def admin_ban(call: Call, player_id: str) -> dict[str, Any]:
    """Ban a player: every route and sign-in answer 403 `account_banned` until unbanned (409 if deleted)."""
    view = _set_ban(call, player_id, banned=True)
    realtime.close_player(player_id)  # and their open sockets are closed
    return view


@route(
    bp,
    "/admin/players/{player_id}/unban",
    methods=("POST",),
    auth="admin",
    body=BanRequest,
    response=AccountStatusView,
    tags=("admin",),
    errors=(400, 403, 404, 409),
)
def admin_unban(call: Call, player_id: str) -> dict[str, Any]:
    """Lift a player's ban (idempotent); the player can sign in and play again (409 if deleted)."""
    return _set_ban(call, player_id, banned=False)
