"""Game events and analytics: requests per ingested batch, items read for a summary.

Runs against moto's in-process `mock_aws`, tables created from the data definition;
requests and items are counted with the harness's botocore hooks, never timed.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections import Counter
from typing import Any

import boto3
from moto import mock_aws

from bench.bench_cold_start import create_table_request
from bench.harness import Figure, count_requests
from chalicelib.config import Settings
from chalicelib.game_config import get_game_config
from chalicelib.observability import logger
from chalicelib.services import analytics, events
from chalicelib.storage.analytics import AnalyticsRepository
from chalicelib.storage.events import EventsRepository
from chalicelib.storage.schema import DATA

SUMMARY_DAYS = 30


def _batch(n: int, now: float) -> list[dict[str, Any]]:
    return [
        {"event_id": uuid.uuid4().hex, "type": "level_start", "timestamp": now, "session_id": "s", "data": {"i": i}}
        for i in range(n)
    ]


def _insert_records(client: Any, table: str, players: list[str]) -> list[dict[str, Any]]:
    """The INSERT records the stream delivers for these players' events (built from the
    stored items: in-process moto does not serve the streams API)."""
    records: list[dict[str, Any]] = []
    for player in players:
        items = client.query(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"P#{player}"}},
            Limit=100,
        )["Items"]
        records += [
            {"eventName": "INSERT", "dynamodb": {"Keys": {"PK": i["PK"], "SK": i["SK"]}, "NewImage": i}} for i in items
        ]
    return records


def run() -> list[Figure]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    settings = Settings.from_env({"TABLE_PREFIX": "bench"})
    config = get_game_config().events
    logger.setLevel("WARNING")
    figures: list[Figure] = []
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for key in ("events", "analytics"):
            table = DATA.table(key)
            request = create_table_request(table, settings.table_name(key))
            if table.stream:
                request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
            client.create_table(**request)
        repo = EventsRepository(client=client, table=settings.table_name("events"))
        store = AnalyticsRepository(client=client, table=settings.table_name("analytics"))
        now = time.time()

        for n in (10, 25):
            batch = _batch(n, now)
            with count_requests(client) as fresh:
                events.ingest(player_id=f"p{n}", events=batch, config=config, repo=repo, clock=lambda: now)
            with count_requests(client) as resent:
                events.ingest(player_id=f"p{n}", events=batch, config=config, repo=repo, clock=lambda: now)
            figures += [
                Figure(f"events.ingest.write_requests.{n}", fresh.requests["BatchWriteItem"], "requests"),
                Figure(f"events.ingest.read_requests.{n}", fresh.requests["BatchGetItem"], "requests"),
                Figure(f"events.resend.write_requests.{n}", resent.requests["BatchWriteItem"], "requests"),
            ]

        # The stream handler on 100 first inserts from 10 players (one Lambda batch), then replayed.
        for p in range(10):
            events.ingest(player_id=f"h{p}", events=_batch(10, now), config=config, repo=repo, clock=lambda: now)
        records = _insert_records(client, settings.table_name("events"), [f"h{p}" for p in range(10)])
        with count_requests(client) as counted:
            analytics.count_records(records=records, config=config, repo=store)
        with count_requests(client) as replayed:
            analytics.count_records(records=records, config=config, repo=store)
        figures += [
            Figure("analytics.count.transactions.100_events", counted.requests["TransactWriteItems"], "requests"),
            Figure("analytics.count.requests.100_events", counted.total_requests, "requests"),
            Figure("analytics.replay.requests.100_events", replayed.total_requests, "requests"),
        ]

        # A 30-day summary with every counter shard of every day written (the worst case).
        last = dt.datetime.fromtimestamp(now, dt.UTC).date()
        days = [(last - dt.timedelta(days=i)).isoformat() for i in range(SUMMARY_DAYS)]
        for day in days:
            for shard in range(config.counter_shards):
                store.commit([], {day: Counter({"events": 1, "active": 1})}, shard, lambda _d: int(now) + 86400)
        with count_requests(client) as read:
            result = analytics.summary(
                first=dt.date.fromisoformat(days[-1]), last=last, config=config, repo=store, clock=lambda: now
            )
        assert len(result["days"]) == SUMMARY_DAYS
        figures += [
            Figure("analytics.summary.items_read.30d", read.items_read, "items"),
            Figure("analytics.summary.requests.30d", read.total_requests, "requests"),
        ]
    return figures
