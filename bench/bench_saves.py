"""Cloud saves: AWS requests and items read per operation (reads are GetItems, no Scan).

Goals: an update of a slot is 1 write and no read (a stale one too: the 409's current
version comes back with the failed condition); a creation is 1 read and 1 transaction
(the slot and the player's slot count); a commit reads the pending upload and heads the
object. moto's HeadObject carries no SHA-256, so commits here also read the object back
(`s3.GetObject`); S3 itself answers the checksum in the HEAD, and the read is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from bench.harness import Figure, count_requests
from bench.moto_env import moto_tables
from chalicelib.errors import Conflict
from chalicelib.game_config import get_game_config
from chalicelib.services import saves
from chalicelib.storage import aws
from chalicelib.storage.saves import SavesRepository, object_key

DYNAMO_READS = ("GetItem", "Query", "BatchGetItem", "Scan")
DYNAMO_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


def _measure(name: str, action: Callable[[], Any]) -> list[Figure]:
    with count_requests(aws.dynamodb(), aws.s3()) as counted:
        try:
            action()
        except Conflict:
            pass
    s3 = sum(n for op, n in counted.requests.items() if op not in DYNAMO_READS + DYNAMO_WRITES)
    figures = [
        Figure(f"saves.{name}.requests", counted.total_requests, "requests"),
        Figure(f"saves.{name}.read_requests", sum(counted.requests[op] for op in DYNAMO_READS), "requests"),
        Figure(f"saves.{name}.write_requests", sum(counted.requests[op] for op in DYNAMO_WRITES), "requests"),
        Figure(f"saves.{name}.items_read", counted.items_read, "items"),
    ]
    if s3:
        figures.append(Figure(f"saves.{name}.s3_requests", s3, "requests"))
    if counted.requests["Scan"]:
        raise AssertionError(f"{name} scanned a table")
    return figures


def run() -> list[Figure]:
    figures: list[Figure] = []
    with moto_tables():
        repo = SavesRepository()
        aws.s3().create_bucket(Bucket=repo.bucket)
        config = get_game_config().saves
        player = "bench-player"

        def put(slot: str, version: int, data: Any = None) -> dict[str, Any]:
            return saves.put_slot(
                player_id=player,
                slot=slot,
                data=data or {"level": version},
                expected_version=version,
                config=config,
                repo=repo,
            )

        figures += _measure("put.create", lambda: put("a", 0))
        figures += _measure("put.update", lambda: put("a", 1))
        figures += _measure("put.stale", lambda: put("a", 1))
        figures += _measure("get.inline", lambda: saves.get_slot(player_id=player, slot="a", config=config, repo=repo))
        for i in range(config.max_slots - 1):
            put(f"s{i}", 0)
        figures += _measure(
            f"list.{config.max_slots}_slots",
            lambda: saves.list_slots(player_id=player, config=config, repo=repo, limit=100, cursor=None),
        )

        blob = b"\x01" * (1024 * 1024)
        sha = hashlib.sha256(blob).hexdigest()
        ticket: dict[str, Any] = {}

        def upload() -> None:
            ticket.update(
                saves.start_upload(
                    player_id=player, slot="a", expected_version=2, size=len(blob), sha256=sha, config=config, repo=repo
                )
            )

        figures += _measure("upload", upload)
        aws.s3().put_object(Bucket=repo.bucket, Key=object_key(player, "a", ticket["upload_id"]), Body=blob)
        figures += _measure(
            "commit.1mib",
            lambda: saves.commit_upload(
                player_id=player, slot="a", upload_id=ticket["upload_id"], expected_version=2, config=config, repo=repo
            ),
        )
        figures += _measure("get.s3", lambda: saves.get_slot(player_id=player, slot="a", config=config, repo=repo))
        figures += _measure(
            "delete.s3", lambda: saves.delete_slot(player_id=player, slot="a", expected_version=3, repo=repo)
        )
        figures += _measure("erase_player", lambda: saves.erase_saves(player))
    return figures
