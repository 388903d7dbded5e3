"""Leaderboard costs by board size and score distribution: requests, items read, units.

A descending best-score board over [0, 1e6] (3 counter levels, 4 counter shards, 4
index shards) is loaded in moto's in-process `mock_aws`: entry and counter items are
built by the storage layer's own functions (`entry_item`, `counter_deltas`, counter
keys, a random counter shard per entry, as `write_entry` does) and put straight into
moto's table, since a million TransactWriteItems through moto would take hours.

Distributions: `uniform` (scores uniform over the range), `tied_half` (half the players
on the score 0, the rest uniform), `ten_values` (every score one of ten values). Then,
through the real service and repository: submit (a new player, on the most crowded score
when there is one), top-10, the rank of the player who reached the most crowded score
last (the median player for `uniform`), around-me (5 each side), and the baseline a rank
must not cost: a Query with Select=COUNT over every entry with a better score (items
read = ScannedCount). Figures: `leaderboards.<op>.<requests|items_read|read_units|
write_units>.<distribution>_<size>`.

    BENCH_QUICK=1 python -m bench.run leaderboards       # 10k and 50k boards
    python -m bench.run leaderboards                     # and 1M (uniform, tied_half)
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
from moto import mock_aws

from bench.harness import Figure, count_requests
from chalicelib.game_config.schema import BoardDef
from chalicelib.services import leaderboards as lb
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

QUICK = os.environ.get("BENCH_QUICK") == "1"
BOARD_ID = "bench"
BOARD = BoardDef(order="desc", write_mode="best", min=0, max=1_000_000, counter_shards=4, index_shards=4)
TABLE = "bench-leaderboards"
START_MS = 1_790_000_000_000
TEN_VALUES = [v * 100_000 for v in range(10)]
CASES: list[tuple[str, int]] = [
    ("uniform", 10_000),
    ("uniform", 50_000),
    ("tied_half", 50_000),
    ("ten_values", 50_000),
]
if not QUICK:
    CASES += [("uniform", 1_000_000), ("tied_half", 1_000_000)]
if os.environ.get("BENCH_LEADERBOARD_CASES"):  # e.g. "tied_half:50000,uniform:1000000"
    CASES = [(d, int(n)) for d, n in (c.split(":") for c in os.environ["BENCH_LEADERBOARD_CASES"].split(","))]


def _label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def score_of(distribution: str, rng: random.Random, i: int) -> int:
    if distribution == "uniform":
        return rng.randint(0, 1_000_000)
    if distribution == "tied_half":
        return 0 if i % 2 else rng.randint(1, 1_000_000)
    if distribution == "ten_values":
        return rng.choice(TEN_VALUES)
    raise ValueError(distribution)


def crowded_score(distribution: str) -> int:
    """The score a new player submits: the crowded one (where ties cost most), or the middle."""
    return {"uniform": 500_000, "tied_half": 0, "ten_values": 500_000}[distribution]


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


def build_items(
    layout: Layout, size: int, distribution: str, rng: random.Random
) -> tuple[list[dict[str, Any]], list[Entry]]:
    """`size` players with scores of the distribution, reached one ms apart, and their items."""
    entries = []
    for i in range(size):
        score = score_of(distribution, rng, i)
        entries.append(Entry(f"p{i:07d}", score, layout.order_key(score), START_MS + i, 1, "2026-11-24T00:00:00.000Z"))
    return bulk_items(layout, entries, lambda _: rng.randrange(layout.counter_shards)), entries


def _load(table_name: str, items: list[dict[str, Any]]) -> None:
    """Put items straight into moto's backend table (no HTTP, no per-item request, no
    per-attribute size check: moto re-sums an item's size for every attribute it sets)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    def typed(value: Any) -> DynamoType:
        # The items hold only strings and whole numbers (see entry_item and bulk_items).
        attr = DynamoType.__new__(DynamoType)
        attr.type, attr.value = ("S", value) if isinstance(value, str) else ("N", str(int(value)))
        return attr

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(table_name)
    for plain in items:
        stored = Item.__new__(Item)
        stored.attrs = LimitedSizeDict({k: typed(v) for k, v in plain.items()})
        stored.hash_key = stored.attrs[table.hash_key_attr]
        stored.range_key = stored.attrs[table.range_key_attr]
        table.items[stored.hash_key][stored.range_key] = stored


def _faster_moto() -> None:
    """Same answers, less time: moto compares keys through a chain of type checks per
    comparison and sorts every index Query's matches by those comparisons."""
    import moto.dynamodb.models.table as moto_table
    from moto.dynamodb.models.dynamo_type import DynamoType

    general = DynamoType.cast_value.fget  # type: ignore[attr-defined]

    def cast_value(self: Any) -> Any:
        if self.type == "S":
            return self.value
        if self.type == "N":
            return Decimal(self.value)
        return general(self)

    def sorted_items(self: Any, hash_attrs: list[str], range_attrs: list[str | None], items: list[Any]) -> list[Any]:
        names = self._generate_attr_to_sort_by(hash_attrs, range_attrs)
        items.sort(key=lambda x: tuple(x.attrs[n].cast_value for n in names))
        return items

    DynamoType.cast_value = property(cast_value)  # type: ignore[assignment,method-assign]
    moto_table.Table.sorted_items = sorted_items  # type: ignore[method-assign]


def _measure(client: Any, fn: Callable[[], Any], peek: Any = None) -> tuple[Any, Any]:
    with count_requests(client, peek=peek) as counted:
        result = fn()
    return counted, result


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
    # This module runs in its own process (bench.run), so these patches end with it.
    import moto.dynamodb.models as moto_models
    import moto.dynamodb.models.table as moto_table

    # moto pages a Query at 1 MB like DynamoDB, but re-walks the whole table per page;
    # one big page keeps the baseline's items read identical and its run time sane.
    moto_table.RESULT_SIZE_LIMIT = 1 << 40  # type: ignore[attr-defined]
    _faster_moto()
    if not isinstance(moto_models.copy, _NoTableBackup):
        moto_models.copy = _NoTableBackup(moto_models.copy)  # type: ignore[assignment]
    return [figure for distribution, size in CASES for figure in _bench_case(distribution, size)]


def _bench_case(distribution: str, size: int) -> list[Figure]:
    figures: list[Figure] = []
    with mock_aws():
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        client = boto3.client("dynamodb", region_name="us-east-1")
        lookup = boto3.client("dynamodb", region_name="us-east-1")  # unhooked: item sizes for write units
        ensure_table(client, TABLE, LEADERBOARDS, poll_seconds=0)
        repo = LeaderboardsRepository(client=client, table=TABLE)
        layout = Layout.of(BOARD_ID, BOARD, "all")
        started = time.monotonic()
        items, entries = build_items(layout, size, distribution, random.Random(size))
        _load(TABLE, items)
        label = f"{distribution}_{_label(size)}"
        print(
            f"# leaderboards {label}: loaded {len(items)} items in {time.monotonic() - started:.1f}s", file=sys.stderr
        )
        ordered = sorted(entries, key=lambda e: e.sort_key)
        crowded = layout.order_key(crowded_score(distribution))
        group = [e for e in ordered if e.key == crowded]
        # The worst case for ties: the last of the biggest group to reach its score.
        probe = group[-1] if len(group) > 1 else ordered[size // 2]
        expected_rank = 1 + sum(1 for e in entries if e.key < probe.key)
        del items, entries, ordered, group
        common: dict[str, Any] = {"board_id": BOARD_ID, "board": BOARD, "repo": repo, "names": lambda ids: {}}
        runs: dict[str, Callable[[], Any]] = {
            "submit": lambda: lb.submit_score(
                player_id="newcomer", score=crowded_score(distribution), writer="client", **common
            ),
            "top10": lambda: lb.top(limit=10, cursor=None, period=None, **common),
            "rank": lambda: repo.ranks(layout, [probe]),
            "around_me": lambda: lb.standing(player_id=probe.player_id, around=5, period=None, **common),
            "count_baseline": lambda: repo.count_ahead_by_query(layout, probe),
        }
        results = {}
        for name, fn in runs.items():
            t0 = time.monotonic()
            # Write units of a submit on a loaded board: its counter nodes are as big as the
            # board makes them (a dense node is over 1 KB), unlike on a near-empty stand-in.
            counted, results[name] = _measure(client, fn, peek=lookup if name == "submit" else None)
            figures.append(Figure(f"leaderboards.{name}.requests.{label}", counted.total_requests, "requests"))
            figures.append(Figure(f"leaderboards.{name}.items_read.{label}", counted.items_read, "items"))
            if name == "submit":
                figures.append(Figure(f"leaderboards.submit.write_units.{label}", counted.write_units, "units"))
            print(f"# leaderboards {name} {label}: {time.monotonic() - t0:.1f}s", file=sys.stderr)
        rank = results["rank"][0][probe.player_id]
        if rank != results["count_baseline"] + 1 or rank != expected_rank:
            raise AssertionError(f"rank {rank} disagrees with the count query {results['count_baseline']}")
        if results["around_me"]["entry"]["rank"] != rank:
            raise AssertionError("around-me disagrees with the rank")
        print(f"# leaderboards {label}: probe rank {rank}, {time.monotonic() - started:.1f}s", file=sys.stderr)
    return figures
