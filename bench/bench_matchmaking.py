"""Matchmaking: requests and items read per match attempt as the queue grows.

In-process moto. For 10, 1,000 and 10,000 tickets waiting in one queue and region (all
inside the anchor's skill window, the worst case), one match attempt for a new ticket:
our way (one Query of the sparse `waiting` index with a Limit, one transaction) beside
the seed's way (a Scan with a filter over the whole table, per request).
"""

from __future__ import annotations

import logging
import os
import random
import time
import uuid
from typing import Any

import boto3
from moto import mock_aws

from bench.harness import Figure, count_requests
from chalicelib.game_config.schema import QueueDef
from chalicelib.services import matchmaking as mm
from chalicelib.storage.batch import batch_write
from chalicelib.storage.items import to_item
from chalicelib.storage.matchmaking import MatchmakingRepository, Ticket, new_ticket_id
from chalicelib.storage.schema import MATCHMAKING
from tools.provision import ensure_table

SIZES = (10, 1_000) if os.environ.get("BENCH_QUICK") == "1" else (10, 1_000, 10_000)
QUEUE = QueueDef.model_validate(
    {"teams": 2, "team_size": 1, "regions": ["eu-west-1"], "window": {"initial": 100, "max": 100}}
)


def _ticket(player: str, queue_id: str, skill: float, now: float) -> Ticket:
    return Ticket(
        ticket_id=new_ticket_id(player),
        queue=queue_id,
        region="eu-west-1",
        leader=player,
        members=(player,),
        joined=(player,),
        skills={player: skill},
        skill=skill,
        status="searching",
        created_at=now,
        searching_since=now,
        timeout_at=now + 600,
        expires_at=int(now + 3600),
    )


def _ours(client: Any, n: int, rng: random.Random) -> dict[str, int]:
    repo = MatchmakingRepository(client=client, table="bench-matchmaking")
    queue_id = f"q{n}"
    now = time.time()
    repo.put_tickets([_ticket(str(uuid.uuid4()), queue_id, float(rng.randint(900, 1100)), now) for _ in range(n)])
    anchor = _ticket(str(uuid.uuid4()), queue_id, 1000.0, now)
    repo.create_ticket(anchor, replaces=None)
    logging.getLogger().setLevel(logging.WARNING)
    with count_requests(client) as counted:
        match = mm.attempt_match(ticket=anchor, queue=QUEUE, repo=repo, notify=lambda notice: None)
    assert match is not None, "the attempt found no match"
    return {
        "requests": counted.total_requests,
        "queries": counted.requests["Query"],
        "scans": counted.requests["Scan"],
        "transactions": counted.requests["TransactWriteItems"],
        "items_read": counted.items_read,
    }


def _seed(client: Any, n: int, rng: random.Random) -> dict[str, int]:
    """The seed's find_or_create_match: a Scan with a filter on every request."""
    table = f"bench-seed-{n}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "request_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    requests = [
        {
            "PutRequest": {
                "Item": to_item(
                    {
                        "request_id": str(uuid.uuid4()),
                        "player_id": str(uuid.uuid4()),
                        "game_mode": "duel",
                        "skill_level": rng.randint(900, 1100),
                        "region": "eu-west-1",
                        "status": "waiting",
                    }
                )
            }
        }
        for _ in range(n)
    ]
    for start in range(0, n, 25):
        batch_write(client, table, requests[start : start + 25])
    with count_requests(client) as counted:
        client.scan(
            TableName=table,
            FilterExpression="game_mode = :m AND #r = :r AND skill_level BETWEEN :lo AND :hi AND #s = :w "
            "AND player_id <> :p",
            ExpressionAttributeNames={"#r": "region", "#s": "status"},
            ExpressionAttributeValues=to_item(
                {":m": "duel", ":r": "eu-west-1", ":lo": 900, ":hi": 1100, ":w": "waiting", ":p": "me"}
            ),
        )
    return {"requests": counted.total_requests, "scans": counted.requests["Scan"], "items_read": counted.items_read}


def run() -> list[Figure]:
    figures: list[Figure] = []
    rng = random.Random(5)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, "bench-matchmaking", MATCHMAKING, poll_seconds=0)
        for n in SIZES:
            label = f"{n // 1000}k" if n >= 1000 else str(n)
            ours = _ours(client, n, rng)
            seed = _seed(client, n, rng)
            figures += [
                Figure(f"matchmaking.attempt.requests.{label}", ours["requests"], "requests"),
                Figure(f"matchmaking.attempt.queries.{label}", ours["queries"], "requests"),
                Figure(f"matchmaking.attempt.transactions.{label}", ours["transactions"], "requests"),
                Figure(f"matchmaking.attempt.scans.{label}", ours["scans"], "requests"),
                Figure(f"matchmaking.attempt.items_read.{label}", ours["items_read"], "items"),
                Figure(f"matchmaking.seed.scans.{label}", seed["scans"], "requests"),
                Figure(f"matchmaking.seed.items_read.{label}", seed["items_read"], "items"),
            ]
    return figures
