"""Events table: one item per (player, event id); its stream feeds analytics.

Keys: PK `P#<player_id>`, SK `E#<event_id>`. The player part comes from the token, so
one player can neither collide with nor overwrite another's events, and erasing a
player is a Query on one partition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.observability import logger
from chalicelib.storage.base import TableRepository
from chalicelib.storage.errors import is_throttling
from chalicelib.storage.items import from_item, to_item
from chalicelib.storage.players import delete_partition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_WRITE_MAX = 25
BATCH_GET_MAX = 100


def event_pk(player_id: str) -> str:
    return f"P#{player_id}"


def event_sk(event_id: str) -> str:
    return f"E#{event_id}"


@dataclass(frozen=True)
class StoredEvent:
    player_id: str
    event_id: str
    type: str
    timestamp: float  # the client's clock, Unix seconds
    session_id: str | None
    data: str  # compact JSON: stored as text so any JSON number round-trips exactly
    received_at: float  # the server's clock
    day: str  # UTC day of received_at: the day analytics counts the event on
    expires_at: int

    def item(self) -> dict[str, Any]:
        return to_item(
            {
                "PK": event_pk(self.player_id),
                "SK": event_sk(self.event_id),
                "player_id": self.player_id,
                "event_id": self.event_id,
                "type": self.type,
                "ts": self.timestamp,
                "session_id": self.session_id,
                "data": self.data,
                "received_at": self.received_at,
                "day": self.day,
                "expires_at": self.expires_at,
            }
        )


def event_from_image(image: Mapping[str, Any]) -> StoredEvent | None:
    """The event in a stream record's NewImage (None if it is not an event item)."""
    item = from_item(image)
    if not str(item.get("SK", "")).startswith("E#") or "player_id" not in item:
        return None
    return StoredEvent(
        player_id=str(item["player_id"]),
        event_id=str(item["event_id"]),
        type=str(item["type"]),
        timestamp=float(item.get("ts", 0)),
        session_id=item.get("session_id"),
        data=str(item.get("data", "{}")),
        received_at=float(item.get("received_at", 0)),
        day=str(item["day"]),
        expires_at=int(item.get("expires_at", 0)),
    )


Sleep = Callable[[float], None]


class EventsRepository(TableRepository):
    """Every read and write of the events table."""

    table_key = "events"

    def __init__(
        self,
        *,
        client: DynamoDBClient | None = None,
        table: str | None = None,
        attempts: int = 6,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(client=client, table=table)
        self.attempts = attempts
        self.sleep = sleep

    def existing(self, player_id: str, event_ids: list[str], now: float) -> set[str]:
        """Which of the player's event ids are stored and not expired: one BatchGetItem."""
        found: set[str] = set()
        unique = list(dict.fromkeys(event_ids))
        for start in range(0, len(unique), BATCH_GET_MAX):
            keys = [
                to_item({"PK": event_pk(player_id), "SK": event_sk(e)}) for e in unique[start : start + BATCH_GET_MAX]
            ]
            request: dict[str, Any] = {
                self.table: {"Keys": keys, "ProjectionExpression": "event_id, expires_at", "ConsistentRead": True}
            }
            for attempt in range(self.attempts):
                resp = self.client.batch_get_item(RequestItems=request)
                for raw in resp.get("Responses", {}).get(self.table, []):
                    item = from_item(raw)
                    if float(item.get("expires_at", now + 1)) > now:  # past its expiry: gone
                        found.add(str(item["event_id"]))
                request = resp.get("UnprocessedKeys") or {}  # type: ignore[assignment]
                if not request:
                    break
                self.sleep(_backoff(attempt))
        return found

    def put_all(self, events: list[StoredEvent]) -> list[str]:
        """Store events with BatchWriteItem (25 a request), retrying unprocessed items and
        throttling; returns the ids of the events still not stored after every attempt."""
        failed: list[str] = []
        for start in range(0, len(events), BATCH_WRITE_MAX):
            chunk = events[start : start + BATCH_WRITE_MAX]
            pending: dict[str, dict[str, Any]] = {event_sk(e.event_id): e.item() for e in chunk}
            for attempt in range(self.attempts):
                requests = [{"PutRequest": {"Item": item}} for item in pending.values()]
                try:
                    resp = self.client.batch_write_item(RequestItems={self.table: requests})  # type: ignore[dict-item]
                except ClientError as exc:
                    if not is_throttling(exc):
                        raise
                    logger.warning("event batch throttled", extra={"attempt": attempt, "pending": len(pending)})
                else:
                    unprocessed = (resp.get("UnprocessedItems") or {}).get(self.table, [])
                    left = {str(r["PutRequest"]["Item"]["SK"]["S"]) for r in unprocessed if "PutRequest" in r}
                    pending = {sk: item for sk, item in pending.items() if sk in left}
                    if pending:
                        logger.warning(
                            "event batch partly processed", extra={"attempt": attempt, "pending": len(pending)}
                        )
                if not pending:
                    break
                if attempt + 1 < self.attempts:
                    self.sleep(_backoff(attempt))
            failed.extend(sk[len("E#") :] for sk in pending)
        return failed

    def erase_player(self, player_id: str) -> int:
        """Delete every event of the player (one partition)."""
        return delete_partition(self.client, self.table, event_pk(player_id))


def _backoff(attempt: int) -> float:
    return float(min(0.025 * 2**attempt, 0.5))
