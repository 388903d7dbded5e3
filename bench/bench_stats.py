"""Stat updates: DynamoDB requests, items read and units per update of a returning player
(the stat write, plus what the boards and achievements that follow the stats write; no
rank read)."""

from __future__ import annotations

import boto3

from bench.harness import Figure, count_requests
from bench.moto_env import moto_tables
from chalicelib.game_config import get_game_config
from chalicelib.storage import aws
from chalicelib.storage.players import PlayersRepository

CASES = {
    "sum": {"kills": 1},
    "kills_xp_matches": {"kills": 2, "xp": 40, "matches_played": 1},
    "sum_and_latest": {"kills": 2, "xp": 40, "level": 3},
    "with_max": {"kills": 1, "high_score": 900},
}


def run() -> list[Figure]:
    # The services that follow stat changes register at import, as the app's imports do;
    # this module runs in its own process, so nothing else registers or unregisters them.
    import chalicelib.services.achievements
    import chalicelib.services.leaderboards  # noqa: F401
    from chalicelib.services.stats import update_stats

    figures: list[Figure] = []
    with moto_tables():
        repo = PlayersRepository()
        config = get_game_config()
        peek = boto3.client("dynamodb", region_name="us-east-1")
        for name, updates in CASES.items():
            update_stats(player_id="warm", updates=updates, writer="client", config=config, repo=repo)
            update_stats(player_id="p1", updates=updates, writer="client", config=config, repo=repo)
            with count_requests(aws.dynamodb(), peek=peek) as counted:
                update_stats(player_id="p1", updates=updates, writer="client", config=config, repo=repo)
            # A sum stat feeding a board is one transaction with the board's entry.
            writes = (
                counted.requests["UpdateItem"] + counted.requests["PutItem"] + counted.requests["TransactWriteItems"]
            )
            reads = counted.requests["GetItem"] + counted.requests["Query"] + counted.requests["BatchGetItem"]
            figures += [
                Figure(f"stats.update.{name}.requests", counted.total_requests, "requests"),
                Figure(f"stats.update.{name}.write_requests", writes, "requests"),
                Figure(f"stats.update.{name}.read_requests", reads, "requests"),
                Figure(f"stats.update.{name}.items_read", counted.items_read, "items"),
                Figure(f"stats.update.{name}.read_units", counted.read_units, "units"),
                Figure(f"stats.update.{name}.write_units", counted.write_units, "units"),
            ]
    return figures
