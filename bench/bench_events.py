"""Game events and analytics: requests and write units per ingested batch, items read for a
summary.

Runs against moto's in-process `mock_aws`, tables created from the data definition;
requests and write units are counted with the harness's botocore hooks (bench/units.py:
DynamoDB's billing rules applied to the items written), never timed.
Events are counted into the analytics in the same transaction that stores them, so the
write units per event include the counting: there is no stream handler to add.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections import Counter
from typing import Any

import boto3
from moto import mock_aws

from bench.bench_cold_start import create_table_request
from bench.harness import Figure, count_requests
from chalicelib.config import Settings
from chalicelib.game_config import get_game_config
from chalicelib.observability import logger, metrics
from chalicelib.services import analytics, events
from chalicelib.storage.analytics import AnalyticsRepository
from chalicelib.storage.events import EventsRepository, IngestState
from chalicelib.storage.schema import DATA
from local_backend.housekeeping import install_moto_patches

SUMMARY_DAYS = 30
# The session profile's events: 2 batches of 10 a session; players on two days.
PLAYERS = 20
BATCHES_A_DAY = 2
BATCH = 10
DAY1 = dt.datetime(2031, 5, 4, 12, tzinfo=dt.UTC).timestamp()
TYPES = ("session_start", "level_start", "level_complete", "ui_click", "screen_view")


def _batch(n: int, now: float) -> list[dict[str, Any]]:
    return [
        {
            "event_id": uuid.uuid4().hex,
            "type": TYPES[i % len(TYPES)],
            "timestamp": now - 30,
            "session_id": "s",
            "data": {"i": i, "level": 3},
        }
        for i in range(n)
    ]


class _StaleOnce(EventsRepository):
    """A copy that read before another copy stored the batch: its first read sees nothing."""

    stale = True

    def state(self, player_id: str, event_ids: list[str], day: str, now: float) -> IngestState:
        fresh = super().state(player_id, event_ids, day, now)
        if self.stale:
            self.stale = False
            return IngestState(stored=frozenset(), cohort=fresh.cohort, active_today=fresh.active_today)
        return fresh


def run() -> list[Figure]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    settings = Settings.from_env({"TABLE_PREFIX": "bench"})
    config = get_game_config().events
    logger.setLevel("WARNING")
    figures: list[Figure] = []
    install_moto_patches()  # transactions cost what they write, not a copy of the table
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        lookup = boto3.client("dynamodb", region_name="us-east-1")
        for key in ("events", "analytics"):
            table = DATA.table(key)
            request = create_table_request(table, settings.table_name(key))
            if table.stream:
                request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
            client.create_table(**request)
        store = AnalyticsRepository(client=client, table=settings.table_name("analytics"))
        repo = EventsRepository(client=client, table=settings.table_name("events"), analytics=store)

        def ingest(player: str, batch: list[dict[str, Any]], now: float, on: EventsRepository = repo) -> Any:
            answer = events.ingest(player_id=player, events=batch, config=config, repo=on, clock=lambda: now)
            metrics.clear_metrics()  # a Lambda flushes them after each request; not printed here
            return answer

        for n in (10, 25):
            batch = _batch(n, DAY1)
            with count_requests(client) as fresh:
                ingest(f"p{n}", batch, DAY1)
            with count_requests(client) as resent:
                ingest(f"p{n}", batch, DAY1)
            figures += [
                Figure(f"events.ingest.write_requests.{n}", fresh.requests["TransactWriteItems"], "requests"),
                Figure(f"events.ingest.read_requests.{n}", fresh.requests["BatchGetItem"], "requests"),
                Figure(f"events.resend.write_requests.{n}", resent.requests["TransactWriteItems"], "requests"),
            ]

        # Two copies of one batch racing: the loser passed its read before the winner wrote.
        batch = _batch(BATCH, DAY1)
        ingest("race", batch, DAY1)
        loser = _StaleOnce(client=client, table=settings.table_name("events"), analytics=store)
        with count_requests(client) as raced:
            answer = ingest("race", batch, DAY1, on=loser)
        assert answer["accepted"] == 0 and answer["duplicates"] == BATCH, answer
        figures += [
            Figure("events.race_loser.write_requests.10", raced.requests["TransactWriteItems"], "requests"),
            Figure("events.race_loser.read_requests.10", raced.requests["BatchGetItem"], "requests"),
        ]

        # The session profile: every player sends 2 batches of 10 on its first day and on
        # the next (new player, active, D1), each batch resent once (no write then).
        total_units = 0
        with count_requests(client, peek=lookup) as profile:
            for day in (DAY1, DAY1 + 86400):
                for p in range(PLAYERS):
                    for _ in range(BATCHES_A_DAY):
                        batch = _batch(BATCH, day)
                        ingest(f"s{p}", batch, day)
                        ingest(f"s{p}", batch, day)
        total_units = profile.write_units
        sent = 2 * PLAYERS * BATCHES_A_DAY * BATCH
        with count_requests(client, peek=lookup) as steady:
            ingest("s0", _batch(BATCH, DAY1 + 86400), DAY1 + 86400)
        figures += [
            Figure("events.write_units_per_event", total_units / sent, "units"),
            Figure("events.write_units.batch_of_10_active_player", steady.write_units, "units"),
            Figure("events.stream_handler.write_units_per_event", 0, "units"),
        ]
        day1 = dt.datetime.fromtimestamp(DAY1, dt.UTC).date()
        result = analytics.summary(first=day1, last=day1 + dt.timedelta(days=1), config=config, repo=store)
        first, second = result["days"]
        assert first["new_players"] >= PLAYERS and first["d1_retained"] >= PLAYERS == second["active_players"], result

        # A 30-day summary with every counter shard of every day written (the worst case).
        last = dt.date(2031, 8, 1)
        days = [(last - dt.timedelta(days=i)).isoformat() for i in range(SUMMARY_DAYS)]
        for day_name in days:
            for shard in range(config.counter_shards):
                update = store.counter_update(day_name, Counter({"events": 1, "active": 1}), shard, 2_000_000_000)
                assert update is not None
                client.update_item(**update["Update"])
        with count_requests(client) as read:
            result = analytics.summary(first=dt.date.fromisoformat(days[-1]), last=last, config=config, repo=store)
        assert len(result["days"]) == SUMMARY_DAYS
        figures += [
            Figure("analytics.summary.items_read.30d", read.items_read, "items"),
            Figure("analytics.summary.requests.30d", read.total_requests, "requests"),
        ]
    return figures
