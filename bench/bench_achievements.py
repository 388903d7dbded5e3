"""Achievements and notifications: requests and items read per operation (moto in-process).

Figures: a stat update that crosses no threshold, one that unlocks (with reward and
notice), the achievement list, and inbox pages of 20 over an inbox of 1000 items (200 with BENCH_QUICK=1).
"""

from __future__ import annotations

import os
from typing import Any

from bench.harness import Figure, count_requests

QUICK = os.environ.get("BENCH_QUICK") == "1"
INBOX_SIZE = 200 if QUICK else 1000  # notices are sent one by one through the service
INBOX = f"inbox_{INBOX_SIZE // 1000}k" if INBOX_SIZE % 1000 == 0 else f"inbox_{INBOX_SIZE}"


def _setup() -> Any:
    from moto import mock_aws

    mock = mock_aws()
    mock.start()
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TABLE_PREFIX": "bench",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from chalicelib.config import get_settings, reset_settings
    from chalicelib.storage import aws
    from chalicelib.storage.schema import DATA
    from tools.provision import ensure_table

    reset_settings()
    aws.reset_clients()
    for key in ("players", "achievements", "notifications", "leaderboards"):  # a stat update feeds the boards
        ensure_table(aws.dynamodb(), get_settings().table_name(key), DATA.table(key), poll_seconds=0)
    return mock


def run() -> list[Figure]:
    mock = _setup()
    try:
        return _measure()
    finally:
        mock.stop()


def _measure() -> list[Figure]:
    from chalicelib.game_config import get_game_config
    from chalicelib.services import achievements, notifications, stats
    from chalicelib.storage import aws
    from chalicelib.storage.achievements import AchievementsRepository
    from chalicelib.storage.notifications import NotificationsRepository
    from chalicelib.storage.players import PlayersRepository

    config = get_game_config()
    players, achs, inbox = PlayersRepository(), AchievementsRepository(), NotificationsRepository()
    client = aws.dynamodb()
    figures: list[Figure] = []

    def update(player: str, updates: dict[str, float]) -> None:
        stats.update_stats(player_id=player, updates=updates, writer="client", config=config, repo=players)

    update("p1", {"deaths": 1})
    with count_requests(client) as c:
        update("p1", {"deaths": 1})
    figures.append(Figure("achievements.stat_update_no_threshold.requests", c.total_requests, "requests"))
    figures.append(Figure("achievements.stat_update_no_threshold.items_read", c.items_read, "items"))

    with count_requests(client) as c:
        update("p1", {"kills": 1})  # first_blood: unlock + reward + notice
    figures.append(Figure("achievements.unlock_with_reward.requests", c.total_requests, "requests"))
    figures.append(Figure("achievements.unlock_with_reward.transactions", c.requests["TransactWriteItems"], "requests"))

    with count_requests(client) as c:
        update("p1", {"kills": 1})  # already unlocked: the sum crossed nothing
    figures.append(Figure("achievements.stat_update_after_unlock.requests", c.total_requests, "requests"))

    with count_requests(client) as c:
        listing = achievements.list_achievements(player_id="p1", config=config, repo=achs, players_repo=players)
    figures.append(Figure("achievements.list.requests", c.total_requests, "requests"))
    figures.append(Figure("achievements.list.items_read", c.items_read, "items"))
    figures.append(Figure("achievements.list.achievements", len(listing["achievements"]), "achievements"))

    for i in range(INBOX_SIZE):
        notifications.send_to_player(player_id="p2", kind="bench", title=f"n{i}", config=config, repo=inbox)
    notifications.broadcast(kind="bench", title="b", config=config, repo=inbox)
    first = notifications.list_notifications(
        player_id="p2", limit=INBOX_SIZE // 100, cursor=None, unread_only=False, repo=inbox
    )
    notifications.mark_read(player_id="p2", ids=[n["id"] for n in first["notifications"]], read_all=False, repo=inbox)
    with count_requests(client) as c:
        notifications.send_to_player(player_id="p2", kind="bench", title="one more", config=config, repo=inbox)
    figures.append(Figure("notifications.send.requests", c.total_requests, "requests"))

    with count_requests(client) as c:
        notifications.list_notifications(player_id="p2", limit=20, cursor=None, unread_only=False, repo=inbox)
    figures.append(Figure(f"notifications.page20.requests.{INBOX}", c.total_requests, "requests"))
    figures.append(Figure(f"notifications.page20.items_read.{INBOX}", c.items_read, "items"))
    # A cursor belongs to its listing (all or unread only): the unread listing's second page.
    unread = notifications.list_notifications(player_id="p2", limit=20, cursor=None, unread_only=True, repo=inbox)
    with count_requests(client) as c:
        notifications.list_notifications(
            player_id="p2", limit=20, cursor=unread["next_cursor"], unread_only=True, repo=inbox
        )
    figures.append(Figure(f"notifications.page20_unread_only.items_read.{INBOX}", c.items_read, "items"))
    with count_requests(client) as c:
        notifications.unread_count(player_id="p2", repo=inbox)
    figures.append(Figure("notifications.unread_count.requests", c.total_requests, "requests"))
    figures.append(Figure(f"notifications.unread_count.items_read.{INBOX}", c.items_read, "items"))
    return figures
