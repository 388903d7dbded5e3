"""Leaderboard costs at 10k and 1M entries: requests and items read, not time.

A descending best-score board over [0, 1e6] (3 counter levels, 4 counter shards, 4
index shards) is loaded in moto's in-process `mock_aws`: entry and counter items are
built by the storage layer's own functions (`entry_item`, `counter_deltas`, counter
keys, a random counter shard per entry, as `write_entry` does) and written straight
into moto's table, since a million TransactWriteItems through moto would take hours.
Then, through the real service and repository: submit (a new player), top-10, the rank
of the median player, around-me (5 each side), and the baseline a rank must not cost:
a Query with Select=COUNT over everyone ahead of that player (items read = ScannedCount).

    BENCH_LEADERBOARD_SIZES=10000,1000000 python -m bench.run leaderboards
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import defaultdict
from typing import Any

import boto3
from moto import mock_aws

from bench.harness import Figure, count_requests
from chalicelib.game_config.schema import BoardDef
from chalicelib.services import leaderboards as lb
from chalicelib.storage.items import to_item
from chalicelib.storage.leaderboards import (
    COUNTER_SK,
    Entry,
    Layout,
    LeaderboardsRepository,
    counter_deltas,
    entry_item,
)
from chalicelib.storage.schema import LEADERBOARDS
from tools.provision import ensure_table

SIZES = [int(s) for s in os.environ.get("BENCH_LEADERBOARD_SIZES", "10000,1000000").split(",") if s]
BOARD_ID = "bench"
BOARD = BoardDef(order="desc", write_mode="best", min=0, max=1_000_000, counter_shards=4, index_shards=4)
TABLE = "bench-leaderboards"
START_MS = 1_790_000_000_000


def _label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def bulk_items(layout: Layout, entries: list[Entry], shard_of: Any) -> list[dict[str, Any]]:
    """The entry and counter items `write_entry` would leave after these first submissions
    (`shard_of(i)`: the counter shard the i-th write picked)."""
    counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i, entry in enumerate(entries):
        shard = shard_of(i)
        for (level, prefix), digits in counter_deltas(layout, None, entry.key).items():
            node = counters[layout.counter_pk(level, prefix, shard)]
            for digit, n in digits.items():
                node[f"c{digit}"] += n
    items = [entry_item(layout, e) for e in entries]
    items.extend({"PK": pk, "SK": COUNTER_SK, **counts} for pk, counts in counters.items())
    return items


def build_items(layout: Layout, size: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[Entry]]:
    """`size` players with uniform random scores, and their items."""
    entries = []
    for i in range(size):
        score = rng.randint(0, 1_000_000)
        entries.append(Entry(f"p{i:07d}", score, layout.order_key(score), START_MS + i, 1, "2026-11-24T00:00:00.000Z"))
    return bulk_items(layout, entries, lambda _: rng.randrange(layout.counter_shards)), entries


def _load(table_name: str, items: list[dict[str, Any]]) -> None:
    """Write items straight into moto's backend table (no HTTP, no per-item request)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(table_name)
    for item in items:
        table.put_item(to_item(item), overwrite=True)


def _measure(client: Any, fn: Any) -> tuple[int, int, Any]:
    with count_requests(client) as counted:
        result = fn()
    return counted.total_requests, counted.items_read, result


class _NoTableBackup:
    """moto backs up the whole table (a deep copy) for every item of a transaction; the
    benchmark's transactions succeed, so skip that copy (counts are unaffected)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else self._real.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def run() -> list[Figure]:
    import moto.dynamodb.models as moto_models
    import moto.dynamodb.models.table as moto_table

    # moto pages a Query at 1 MB like DynamoDB, but re-walks the whole table per page;
    # one big page keeps the baseline's items read identical and its run time sane.
    moto_table.RESULT_SIZE_LIMIT = 1 << 40  # type: ignore[attr-defined]
    if not isinstance(moto_models.copy, _NoTableBackup):
        moto_models.copy = _NoTableBackup(moto_models.copy)  # type: ignore[assignment]
    return [figure for size in SIZES for figure in _bench_size(size)]


def _bench_size(size: int) -> list[Figure]:
    figures: list[Figure] = []
    with mock_aws():
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, TABLE, LEADERBOARDS, poll_seconds=0)
        repo = LeaderboardsRepository(client=client, table=TABLE)
        layout = Layout.of(BOARD_ID, BOARD, "all")
        started = time.monotonic()
        items, entries = build_items(layout, size, random.Random(size))
        _load(TABLE, items)
        print(
            f"# leaderboards: loaded {len(items)} items for {size} entries in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
        median = sorted(entries, key=lambda e: e.sort_key)[size // 2]
        del items, entries
        label = _label(size)
        common: dict[str, Any] = {"board_id": BOARD_ID, "board": BOARD, "repo": repo, "names": lambda ids: {}}
        runs = {
            "submit": lambda: lb.submit_score(player_id="newcomer", score=500_000, writer="client", **common),
            "top10": lambda: lb.top(limit=10, cursor=None, period=None, **common),
            "rank": lambda: repo.ranks(layout, [median]),
            "around_me": lambda: lb.standing(player_id=median.player_id, around=5, period=None, **common),
            "count_baseline": lambda: repo.count_ahead_by_query(layout, median),
        }
        results = {}
        for name, fn in runs.items():
            t0 = time.monotonic()
            requests, read, results[name] = _measure(client, fn)
            figures.append(Figure(f"leaderboard.{name}.requests.{label}", requests, "requests"))
            figures.append(Figure(f"leaderboard.{name}.items_read.{label}", read, "items"))
            print(f"# leaderboards {name} {label}: {time.monotonic() - t0:.1f}s", file=sys.stderr)
        rank = results["rank"][0][median.player_id]
        if rank != results["count_baseline"] + 1:
            raise AssertionError(f"rank {rank} disagrees with the count query {results['count_baseline']}")
        print(
            f"# leaderboards {label}: median rank {rank}, total {results['rank'][1]}, "
            f"{time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
    return figures
