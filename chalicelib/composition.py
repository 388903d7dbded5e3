"""The composition root: the deployed repositories, and who reacts to what.

Routes, scheduled jobs and the WebSocket handlers get their repositories and the game
config here. `wire()` registers every reaction between services, and nothing else does:
no module registers anything when it is imported. Read `wire()` to know who reacts to what.

Nothing here imports a service or a repository until it is used, so `import app` stays
cheap and a route loads only the services it calls. The registries (`hooks`, `erasure`,
`notify`) run `wire()` on their first use in a process, so a stat update, an account
deletion or a notice is never handled unwired, whichever entry point came first.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from chalicelib.game_config.declarations import GameConfig
    from chalicelib.services.hooks import StatChange, StatWritePlan
    from chalicelib.services.notify import Notice
    from chalicelib.storage.accounts import AccountsGateway
    from chalicelib.storage.achievements import AchievementsRepository
    from chalicelib.storage.analytics import AnalyticsRepository
    from chalicelib.storage.audit import AuditRepository
    from chalicelib.storage.connections import ConnectionsRepository
    from chalicelib.storage.events import EventsRepository
    from chalicelib.storage.leaderboards import LeaderboardsRepository
    from chalicelib.storage.matchmaking import MatchmakingRepository
    from chalicelib.storage.notifications import NotificationsRepository
    from chalicelib.storage.players import PlayersRepository
    from chalicelib.storage.saves import SavesRepository


# the deployment's dependencies ----------------------------------------------------------
# Repositories are cheap: each finds its table and the container's client on use.


def game_config() -> GameConfig:
    from chalicelib.game_config import get_game_config

    return get_game_config()


def players_repo() -> PlayersRepository:
    from chalicelib.storage.players import PlayersRepository

    return PlayersRepository()


def accounts() -> AccountsGateway:
    from chalicelib.storage.accounts import AccountsGateway

    return AccountsGateway()


def achievements_repo() -> AchievementsRepository:
    from chalicelib.storage.achievements import AchievementsRepository

    return AchievementsRepository()


def leaderboards_repo() -> LeaderboardsRepository:
    from chalicelib.storage.leaderboards import LeaderboardsRepository

    return LeaderboardsRepository()


def matchmaking_repo() -> MatchmakingRepository:
    from chalicelib.storage.matchmaking import MatchmakingRepository

    return MatchmakingRepository()


def notifications_repo() -> NotificationsRepository:
    from chalicelib.storage.notifications import NotificationsRepository

    return NotificationsRepository()


def saves_repo() -> SavesRepository:
    from chalicelib.storage.saves import SavesRepository

    return SavesRepository()


def events_repo() -> EventsRepository:
    from chalicelib.storage.events import EventsRepository

    return EventsRepository()


def analytics_repo() -> AnalyticsRepository:
    from chalicelib.storage.analytics import AnalyticsRepository

    return AnalyticsRepository()


def audit_repo() -> AuditRepository:
    from chalicelib.storage.audit import AuditRepository

    return AuditRepository()


def connections_repo() -> ConnectionsRepository:
    from chalicelib.storage.connections import ConnectionsRepository

    return ConnectionsRepository()


def connections_api() -> ApiGatewayManagementApiClient | None:
    """The WebSocket API's `@connections` client; None when no endpoint is configured."""
    from chalicelib.storage import aws

    return aws.connections_api()


def display_names(player_ids: list[str]) -> dict[str, str]:
    """Players' display names as boards show them (what leaderboard views are given)."""
    from chalicelib.services.players import shown_names

    return shown_names(players_repo().display_names(player_ids))


# scheduled jobs -------------------------------------------------------------------------


def time_out_tickets() -> int:
    """Every minute: tickets past their timeout become timed_out and leave the index."""
    from chalicelib.services import matchmaking

    return matchmaking.time_out_tickets(config=game_config(), repo=matchmaking_repo())


def close_leaderboard_periods() -> list[dict[str, str]]:
    """Every hour: archive the leaderboard periods that have ended."""
    from chalicelib.services import leaderboards

    return leaderboards.close_ended_periods(config=game_config(), repo=leaderboards_repo())


def erase_deleted_accounts_again(now: Callable[[], float] | None = None) -> list[str]:
    """Every 15 minutes: the second pass over accounts deleted or banned long enough ago
    (`now`: the job's clock, the system's unless given)."""
    from chalicelib.clock import system_clock
    from chalicelib.services import leaderboards, players

    def remove_entries(player_id: str) -> int:
        return leaderboards.erase_player(config=game_config(), player_id=player_id, repo=leaderboards_repo())

    return players.erase_again_job(repo=players_repo(), remove_entries=remove_entries, clock=now or system_clock)


# the reactions, each loading its service when it first runs ----------------------------


def _boards_follow_stats(plan: StatWritePlan) -> None:
    from chalicelib.services import leaderboards

    leaderboards.follow_stats(
        config=game_config(),
        player_id=plan.player_id,
        values=plan.values,
        repo=leaderboards_repo(),
        clock=lambda: plan.at,
    )


def _boards_move_with_sums(plan: StatWritePlan) -> list[dict[str, Any]]:
    from chalicelib.services import leaderboards

    return leaderboards.sum_feed_ops(
        config=game_config(), player_id=plan.player_id, deltas=plan.deltas, repo=leaderboards_repo(), now=plan.at
    )


def _achievements_check_stats(change: StatChange) -> list[str]:
    from chalicelib.observability import logger
    from chalicelib.services import achievements

    # The stat update is committed: a failure here is logged, and healed by the next
    # listing (GET /achievements unlocks thresholds already met).
    try:
        return achievements.evaluate_stat_change(
            change, config=game_config(), repo=achievements_repo(), players_repo=players_repo()
        )
    except Exception:  # noqa: BLE001
        logger.exception("achievement evaluation failed", extra={"player_id": change.player_id})
        return []


def _achievements_count_player(player_id: str) -> None:
    achievements_repo().count_player(player_id)


def _store_in_inbox(notice: Notice) -> str | None:
    from chalicelib.services import notifications

    stored = notifications.send_to_player(
        player_id=notice.player_id,
        kind=notice.kind,
        title=notice.title,
        body=notice.body,
        data=notice.data,
        dedupe_key=notice.dedupe_key,
        config=game_config(),
        repo=notifications_repo(),
    )
    return stored["id"]  # type: ignore[no-any-return]


class _SocketPusher:
    """notify's pusher: the realtime service, loaded on the first push."""

    def _pusher(self) -> Any:
        from chalicelib.services import realtime

        return realtime.Pusher(repo=connections_repo, api=connections_api)

    def notice(self, notice: Notice, notification_id: str | None) -> None:
        if connections_api() is not None:
            self._pusher().notice(notice, notification_id)

    def signal(self, player_ids: list[str], kind: str, data: dict[str, Any]) -> None:
        if connections_api() is not None:
            self._pusher().signal(player_ids, kind, data)

    def announce(self, notification: dict[str, Any]) -> None:
        if connections_api() is not None:
            self._pusher().announce(notification)


def _erase_achievements(player_id: str) -> int:
    return achievements_repo().erase_player(player_id)


def _erase_connections(player_id: str) -> int:
    from chalicelib.services import realtime

    return realtime.erase_player(player_id=player_id, repo=connections_repo(), api=connections_api())


def _erase_events(player_id: str) -> int:
    return events_repo().erase_player(player_id) + analytics_repo().erase_player(player_id)


def _erase_leaderboards(player_id: str) -> int:
    from chalicelib.services import leaderboards

    return leaderboards.erase_player(config=game_config(), player_id=player_id, repo=leaderboards_repo())


def _erase_matchmaking(player_id: str) -> int:
    from chalicelib.services import matchmaking

    return matchmaking.erase_player(player_id=player_id, repo=matchmaking_repo())


def _erase_notifications(player_id: str) -> int:
    return notifications_repo().erase_player(player_id)


def _erase_players(player_id: str) -> int:
    return players_repo().erase_player(player_id)


def _erase_saves(player_id: str) -> int:
    """Every slot, marker, pending upload and S3 object of the player."""
    return saves_repo().erase_player(player_id)


# wiring ---------------------------------------------------------------------------------

_lock = threading.RLock()
_wired = False
_wiring = False


def wire() -> None:
    """Register every reaction, once per process (later calls do nothing)."""
    global _wired, _wiring
    with _lock:
        # The registries call wire() on first use, registering included: that call is this one.
        if _wired or _wiring:
            return
        _wiring = True
        try:
            _register()
        finally:
            _wiring = False
        _wired = True


def is_wired() -> bool:
    return _wired


def _register() -> None:
    from chalicelib.services import erasure, hooks, notify

    # A stat update feeds the leaderboards: best and latest boards take the value sent
    # before the stat is written (idempotent), sum boards move by the same delta in the
    # stat update's own transaction.
    hooks.register_stat_feed("leaderboards", hooks.StatFeed(before=_boards_follow_stats, ops=_boards_move_with_sums))
    # After a stat update: achievements whose threshold the new value meets unlock.
    hooks.on_stat_change("achievements")(_achievements_check_stats)
    # A new player's profile: counted for the achievements' rarity.
    hooks.on_player_created("achievements")(_achievements_count_player)

    # A notice (achievement unlocked, match found, period closed, admin message) is
    # stored in the player's inbox, then pushed to their open WebSocket connections.
    notify.register_sink(_store_in_inbox)
    notify.register_pusher(_SocketPusher())

    # Deleting an account erases the player's items in every service (each idempotent).
    for name, eraser in (
        ("achievements", _erase_achievements),
        ("connections", _erase_connections),
        ("events", _erase_events),
        ("leaderboards", _erase_leaderboards),
        ("matchmaking", _erase_matchmaking),
        ("notifications", _erase_notifications),
        ("players", _erase_players),
        ("saves", _erase_saves),
    ):
        erasure.eraser(name)(eraser)
