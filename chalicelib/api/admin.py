"""Admin routes (the `admins` group): players, bans, server-side stats, and what the console reads.

Every admin write is recorded in the audit log by the HTTP glue (`chalicelib.api.http`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api import realtime
from chalicelib.api.http import Call, route
from chalicelib.errors import NotFound

if TYPE_CHECKING:
    from chalicelib.models.admin import AuditQuery
    from chalicelib.models.notifications import NotificationQuery
    from chalicelib.models.saves import SlotView
    from chalicelib.storage.players import Profile


bp = Blueprint(__name__)
TAGS = ("admin",)


def _profile(player_id: str) -> Profile:
    item = composition.players_repo().get_profile(player_id)
    if item is None:
        raise NotFound("no such player")
    return item


@route(
    bp,
    "/admin/players",
    auth="admin",
    query="chalicelib.models.admin:PlayerSearchQuery",
    response="chalicelib.models.admin:PlayerSearchResult",
    tags=TAGS,
)
def admin_search_players(call: Call) -> dict[str, Any]:
    """Find players by id, email or display name (any case); no Scan."""
    from chalicelib.services import admin

    return admin.search_players(q=call.query.q, repo=composition.players_repo())


@route(
    bp,
    "/admin/players/{player_id}",
    auth="admin",
    response="chalicelib.models.players:PlayerPublic",
    tags=TAGS,
    errors=(403, 404),
)
def admin_get_player(call: Call, player_id: str) -> dict[str, Any]:
    """Look up a player's profile by id."""
    from chalicelib.services import players

    return players.profile_view(_profile(player_id))


@route(
    bp,
    "/admin/players/{player_id}",
    methods=("DELETE",),
    auth="admin",
    body="chalicelib.models.admin:ReasonBody",
    response="chalicelib.models.players:DeletedView",
    tags=TAGS,
    errors=(403, 404),
)
def admin_delete_player(call: Call, player_id: str) -> dict[str, Any]:
    """Delete a player's account and erase every item it owns, in every service (retry-safe)."""
    from chalicelib.services import account_status, players

    repo = composition.players_repo()
    profile = repo.get_profile(player_id)
    if profile is None:
        status = repo.get_account_status(player_id)
        if status is None or status.status != account_status.DELETED:
            raise NotFound("no such player")
        # A retried deletion: the account is refused everywhere already; finish the erasure.
        return players.finish_deletion(player_id=player_id, status=status, accounts=composition.accounts())
    return players.delete_account(
        player_id=player_id,
        username=profile.username,
        config=composition.game_config(),
        repo=composition.players_repo(),
        accounts=composition.accounts(),
    )


@route(
    bp,
    "/admin/players/{player_id}",
    methods=("PATCH",),
    auth="admin",
    body="chalicelib.models.players:PlayerPatch",
    response="chalicelib.models.players:PlayerPublic",
    tags=TAGS,
    errors=(400, 403, 404),
)
def admin_rename_player(call: Call, player_id: str) -> dict[str, Any]:
    """Rename a player (moderation), under the same display-name rule as the player's own."""
    from chalicelib.services import players

    repo = composition.players_repo()
    if repo.get_profile(player_id) is None:
        raise NotFound("no such player")
    return players.rename(player_id=player_id, username="", display_name=call.body.display_name, repo=repo)


@route(
    bp,
    "/admin/players/{player_id}/stats",
    auth="admin",
    response="chalicelib.models.players:StatsView",
    tags=TAGS,
    errors=(403,),
)
def admin_get_stats(call: Call, player_id: str) -> dict[str, Any]:
    """Read any player's stats."""
    from chalicelib.services import stats

    return stats.get_stats(player_id=player_id, config=composition.game_config(), repo=composition.players_repo())


@route(
    bp,
    "/admin/players/{player_id}/stats",
    methods=("POST",),
    auth="admin",
    body="chalicelib.models.players:ServerStatsUpdate",
    response="chalicelib.models.players:StatsView",
    tags=TAGS,
    errors=(400, 403, 404),
    idempotent=True,
)
def admin_post_stats(call: Call, player_id: str) -> dict[str, Any]:
    """The game server's path: write any stat, server-only ones included, for a player."""
    from chalicelib.services import stats

    _profile(player_id)
    return stats.update_stats(
        player_id=player_id,
        updates=call.body.updates,
        writer="server",
        config=composition.game_config(),
        repo=composition.players_repo(),
    )


@route(
    bp,
    "/admin/players/{player_id}/status",
    auth="admin",
    response="chalicelib.models.players:AccountStatusView",
    tags=("admin",),
    errors=(403,),
)
def admin_get_status(call: Call, player_id: str) -> dict[str, Any]:
    """A player's account status: `active`, `banned` or `deleted`, with the reason and who set it."""
    from chalicelib.services import account_status

    return account_status.status_view(player_id, composition.players_repo().get_account_status(player_id))


def _set_ban(call: Call, player_id: str, *, banned: bool) -> dict[str, Any]:
    from chalicelib.services import account_status

    return account_status.set_ban(
        player_id=player_id,
        banned=banned,
        reason=call.body.reason,
        admin_id=call.player_id,
        repo=composition.players_repo(),
    )


@route(
    bp,
    "/admin/players/{player_id}/ban",
    methods=("POST",),
    auth="admin",
    body="chalicelib.models.players:BanBody",
    response="chalicelib.models.players:AccountStatusView",
    tags=("admin",),
    errors=(400, 403, 404, 409),
)
def admin_ban(call: Call, player_id: str) -> dict[str, Any]:
    """Ban a player: every route and sign-in answer 403 `account_banned` until unbanned (409 if
    deleted); their leaderboard entries are removed unless `remove_leaderboard_entries` is false."""
    view = _set_ban(call, player_id, banned=True)
    realtime.close_player(player_id)  # and their open sockets are closed
    if call.body.remove_leaderboard_entries:
        from chalicelib.clock import iso, system_clock
        from chalicelib.services import leaderboards, players

        # After the ban, so no new score of theirs starts; idempotent, so a retry finishes it.
        # A score request that passed its account check just before the ban can still land:
        # the scheduled second pass removes the entries again once no such request can run.
        composition.players_repo().queue_again(player_id, iso(players.remove_entries_again_at(system_clock())))
        view["leaderboard_entries_removed"] = leaderboards.erase_player(
            config=composition.game_config(), player_id=player_id, repo=composition.leaderboards_repo()
        )
    return view


@route(
    bp,
    "/admin/players/{player_id}/unban",
    methods=("POST",),
    auth="admin",
    body="chalicelib.models.players:BanRequest",
    response="chalicelib.models.players:AccountStatusView",
    tags=("admin",),
    errors=(400, 403, 404, 409),
)
def admin_unban(call: Call, player_id: str) -> dict[str, Any]:
    """Lift a player's ban (idempotent); the player can sign in and play again (409 if deleted)."""
    return _set_ban(call, player_id, banned=False)


@route(
    bp,
    "/admin/players/{player_id}/achievements",
    auth="admin",
    response="chalicelib.models.achievements:AchievementList",
    tags=TAGS,
    errors=(404,),
)
def admin_player_achievements(call: Call, player_id: str) -> dict[str, Any]:
    """A player's achievements: progress, unlocks and rarity (hidden ones shown too)."""
    from chalicelib.services import achievements

    _profile(player_id)
    return achievements.list_achievements(
        player_id=player_id,
        config=composition.game_config(),
        repo=composition.achievements_repo(),
        players_repo=composition.players_repo(),
    )


@route(
    bp,
    "/admin/players/{player_id}/saves",
    auth="admin",
    query="chalicelib.models.saves:SaveListQuery",
    response="chalicelib.models.saves:SlotList",
    tags=TAGS,
    errors=(404,),
)
def admin_player_saves(call: Call, player_id: str) -> dict[str, Any]:
    """A player's save slots (metadata), in name order, paged."""
    from chalicelib.services import saves

    _profile(player_id)
    return saves.list_slots(
        player_id=player_id,
        config=composition.game_config().saves,
        repo=composition.saves_repo(),
        limit=call.query.limit,
        cursor=call.query.cursor,
    )


@route(
    bp,
    "/admin/players/{player_id}/saves/{slot}",
    auth="admin",
    response="chalicelib.models.saves:SlotView",
    tags=TAGS,
    errors=(404,),
)
def admin_player_save(call: Call, player_id: str, slot: str) -> SlotView:
    """One of a player's slots with its content (inline data or a download URL)."""
    from chalicelib.models.saves import SlotView
    from chalicelib.services import saves

    view = saves.get_slot(
        player_id=player_id, slot=slot, config=composition.game_config().saves, repo=composition.saves_repo()
    )
    return SlotView.model_validate(view)


@route(
    bp,
    "/admin/players/{player_id}/notifications",
    auth="admin",
    query="chalicelib.models.notifications:NotificationQuery",
    response="chalicelib.models.notifications:NotificationPage",
    tags=TAGS,
    errors=(404,),
)
def admin_player_inbox(call: Call, player_id: str) -> dict[str, Any]:
    """A player's inbox as they see it (broadcasts included), newest first; reading changes nothing."""
    from chalicelib.services import notifications

    _profile(player_id)
    q: NotificationQuery = call.query
    return notifications.list_notifications(
        player_id=player_id,
        limit=q.limit,
        cursor=q.cursor,
        unread_only=q.unread_only,
        repo=composition.notifications_repo(),
    )


@route(
    bp,
    "/admin/leaderboards/{board_id}/entries/{player_id}",
    methods=("DELETE",),
    auth="admin",
    query="chalicelib.models.admin:EntryRemoveQuery",
    body="chalicelib.models.admin:ReasonBody",
    response="chalicelib.models.admin:EntryRemoved",
    tags=TAGS,
    errors=(404, 409),
)
def admin_remove_entry(call: Call, board_id: str, player_id: str) -> dict[str, Any]:
    """Remove a player's entry from a board (current period unless `period`); ranks close up."""
    from chalicelib.services import leaderboards

    board = leaderboards.board_of(composition.game_config(), board_id)
    return leaderboards.remove_entry(
        board_id=board_id,
        board=board,
        player_id=player_id,
        period=call.query.period,
        repo=composition.leaderboards_repo(),
    )


@route(bp, "/admin/matchmaking", auth="admin", response="chalicelib.models.admin:MatchmakingOverview", tags=TAGS)
def admin_matchmaking(call: Call) -> dict[str, Any]:
    """Queues with their rules and waiting tickets per region; matches of the last hour."""
    from chalicelib.services import admin

    return admin.matchmaking_overview(config=composition.game_config(), repo=composition.matchmaking_repo())


@route(bp, "/admin/config", auth="admin", response="chalicelib.models.admin:AdminConfigView", tags=TAGS)
def admin_config(call: Call) -> dict[str, Any]:
    """The whole game config as deployed (read-only)."""
    from chalicelib.game_config.declarations import as_json

    return {"config": as_json(composition.game_config())}


@route(
    bp,
    "/admin/audit",
    auth="admin",
    query="chalicelib.models.admin:AuditQuery",
    response="chalicelib.models.admin:AuditPage",
    tags=TAGS,
    errors=(400,),
)
def admin_audit(call: Call) -> dict[str, Any]:
    """The audit log of admin writes, newest first (all, or about one `target`); read-only."""
    from chalicelib.services import audit

    q: AuditQuery = call.query
    return audit.list_entries(target=q.target, cursor=q.cursor, limit=q.limit, repo=composition.audit_repo())
