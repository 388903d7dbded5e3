"""Stat updates: DynamoDB requests and items read per update (goal: 1 write, no read)."""

from __future__ import annotations

from bench.harness import Figure, count_requests
from bench.moto_env import moto_tables
from chalicelib.game_config import get_game_config
from chalicelib.storage import aws
from chalicelib.storage.players import PlayersRepository

CASES = {
    "sum": {"kills": 1},
    "sum_and_latest": {"kills": 2, "xp": 40, "level": 3},
    "with_max": {"kills": 1, "high_score": 900},
}


def run() -> list[Figure]:
    from chalicelib.services.stats import update_stats

    figures: list[Figure] = []
    with moto_tables():
        repo = PlayersRepository()
        config = get_game_config()
        for name, updates in CASES.items():
            update_stats(player_id="warm", updates=updates, writer="client", config=config, repo=repo)
            with count_requests(aws.dynamodb()) as counted:
                update_stats(player_id="p1", updates=updates, writer="client", config=config, repo=repo)
            # A sum stat feeding a board is one transaction with the board's entry.
            writes = counted.requests["UpdateItem"] + counted.requests["PutItem"] + counted.requests["TransactWriteItems"]
            reads = counted.requests["GetItem"] + counted.requests["Query"] + counted.requests["BatchGetItem"]
            figures += [
                Figure(f"stats.update.{name}.requests", counted.total_requests, "requests"),
                Figure(f"stats.update.{name}.write_requests", writes, "requests"),
                Figure(f"stats.update.{name}.read_requests", reads, "requests"),
                Figure(f"stats.update.{name}.items_read", counted.items_read, "items"),
            ]
    return figures
