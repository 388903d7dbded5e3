"""Helpers for event tests: build events, read the stand-in's events stream."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3

from chalicelib.config import get_settings
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
