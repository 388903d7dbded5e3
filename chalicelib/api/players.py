"""Player routes: the caller's profile, stats and account deletion."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route

bp = Blueprint(__name__)


def _username(call: Call) -> str:
    return call.claims.username if call.claims else ""


@route(bp, "/players/me", response="chalicelib.models.players:PlayerPublic", tags=("players",))
def get_me(call: Call) -> dict[str, Any]:
    """The caller's profile."""
    from chalicelib.services import players

    return players.get_profile(player_id=call.player_id, username=_username(call), repo=composition.players_repo())


@route(
    bp,
    "/players/me",
    methods=("PATCH",),
    body="chalicelib.models.players:PlayerPatch",
    response="chalicelib.models.players:PlayerPublic",
    tags=("players",),
    errors=(400,),
)
def patch_me(call: Call) -> dict[str, Any]:
    """Change the caller's display name (trimmed; 3-24 letters, digits, spaces, . - _)."""
    from chalicelib.services import players

    return players.rename(
        player_id=call.player_id,
        username=_username(call),
        display_name=call.body.display_name,
        repo=composition.players_repo(),
    )


@route(
    bp,
    "/players/me",
    methods=("DELETE",),
    response="chalicelib.models.players:DeletedView",
    tags=("players",),
    deleted_ok=True,
)
def delete_me(call: Call) -> dict[str, Any]:
    """Delete the caller's account and erase every item it owns, in every service.

    Final: afterwards the account's tokens get 401 `account_deleted` everywhere. Sending the
    same request again (e.g. after a timeout) finishes the erasure and answers the same.
    """
    from chalicelib.services import players

    return players.delete_account(
        player_id=call.player_id,
        username=_username(call),
        config=composition.game_config(),
        repo=composition.players_repo(),
        accounts=composition.accounts(),
    )


@route(bp, "/players/me/stats", response="chalicelib.models.players:StatsView", tags=("stats",))
def get_my_stats(call: Call) -> dict[str, Any]:
    """The caller's stats: every declared stat, stored or default."""
    from chalicelib.services import stats

    return stats.get_stats(player_id=call.player_id, config=composition.game_config(), repo=composition.players_repo())


@route(
    bp,
    "/players/me/stats",
    methods=("POST",),
    body="chalicelib.models.players:StatsUpdate",
    body_check="chalicelib.models.checks:stats_update",
    response="chalicelib.models.players:StatsView",
    tags=("stats",),
    errors=(400, 403),
    idempotent=True,
)
def post_my_stats(call: Call) -> dict[str, Any]:
    """Update client-writable stats by their declared aggregation; all or nothing."""
    from chalicelib.services import stats

    return stats.update_stats(
        player_id=call.player_id,
        updates=call.body.updates,
        writer="client",
        config=composition.game_config(),
        repo=composition.players_repo(),
    )
