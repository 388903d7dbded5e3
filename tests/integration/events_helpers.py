"""Helpers for event tests: build events, read the stand-in's events stream."""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from typing import Any

import boto3

from chalicelib.config import get_settings
from chalicelib.game_config import get_game_config
from chalicelib.services import analytics
from chalicelib.storage.analytics import AnalyticsRepository
from chalicelib.storage.events import EventsRepository, event_pk


def make_event(type_: str = "level_start", *, ts: float | None = None, **extra: Any) -> dict[str, Any]:
    event = {
        "event_id": uuid.uuid4().hex,
        "type": type_,
        "timestamp": time.time() if ts is None else ts,
        "session_id": "s1",
        "data": {"level": 3},
    }
    event.update(extra)
    return event


def stream_records(player_ids: set[str]) -> list[dict[str, Any]]:
    """Every record of the events stream about these players, as Lambda would deliver them."""
    settings = get_settings()
    streams = boto3.client("dynamodbstreams", region_name=settings.region)
    description = streams.describe_stream(StreamArn=settings.stream_arn("events"))["StreamDescription"]
    out: list[dict[str, Any]] = []
    for shard in description["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=settings.stream_arn("events"), ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            resp = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not resp["Records"]:
                break
            for record in resp["Records"]:
                keys = record["dynamodb"].get("Keys", {})
                pk = keys.get("PK", {}).get("S", "")
                if any(pk == event_pk(p) for p in player_ids):
                    out.append(record)
            iterator = resp.get("NextShardIterator")
    return out


def stored_events(player_id: str) -> list[dict[str, Any]]:
    repo = EventsRepository()
    resp = repo.client.query(
        TableName=repo.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": event_pk(player_id)}},
        Limit=1000,
    )
    return resp["Items"]


def fresh_day() -> float:
    """Noon (UTC) of a day no other test counts events on: analytics figures are per day."""
    day = dt.date(2100, 1, 1) + dt.timedelta(days=random.randrange(1_500_000))
    return dt.datetime.combine(day, dt.time(12), dt.UTC).timestamp()


def day_row(now: float) -> dict[str, Any]:
    """The analytics summary row of the UTC day of `now`."""
    day = dt.datetime.fromtimestamp(now, dt.UTC).date()
    result = analytics.summary(first=day, last=day, config=get_game_config().events, repo=AnalyticsRepository())
    row: dict[str, Any] = result["days"][0]
    return row
