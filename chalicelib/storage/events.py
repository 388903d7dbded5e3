"""Events table: one item per (player, event id), written with the analytics it counts.

Keys: PK `P#<player_id>`, SK `E#<event_id>`. The player part comes from the token, so
one player can neither collide with nor overwrite another's events, and erasing a
player is a Query on one partition.

A batch is stored in one transaction: each new event put only if absent, with the daily
counters and the player's markers in the analytics table. The event item is its own
"already counted" marker: whichever request's transaction creates it counts it, and no
other can, so the answer (accepted or duplicate) and the analytics agree under any race.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.observability import logger
from chalicelib.storage.analytics import FIRST, AnalyticsRepository, Marker, day_marker, marker_key
from chalicelib.storage.base import TableRepository
from chalicelib.storage.batch import BATCH_GET_MAX, batch_get
from chalicelib.storage.cancellation import cancellation
from chalicelib.storage.errors import error_code, is_throttling
from chalicelib.storage.items import to_item, values
from chalicelib.storage.players import delete_partition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TRANSACTION_MAX = 100


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


@dataclass(frozen=True)
class IngestState:
    """What one BatchGetItem tells before a batch is stored."""

    stored: frozenset[str]  # event ids already stored (and not expired)
    cohort: str | None  # the player's first day, None if never counted
    active_today: bool  # the player is already counted active on the day


@dataclass(frozen=True)
class Counts:
    """What a batch adds to the analytics: markers put if absent and counter increments."""

    markers: list[Marker]
    increments: dict[str, Counter[str]]  # day -> counter -> n
    shard: int
    expires_at: Callable[[str], int]  # a day's counters expire at


class Outcome(Enum):
    STORED = "stored"
    CONFLICT = "conflict"  # an event or marker exists now: read again and re-plan
    BUSY = "busy"  # throttled or a concurrent transaction: try again after a pause


Sleep = Callable[[float], None]


class EventsRepository(TableRepository):
    """Every read and write of the events table (and the analytics items written with it)."""

    table_key = "events"

    def __init__(
        self,
        *,
        client: DynamoDBClient | None = None,
        table: str | None = None,
        analytics: AnalyticsRepository | None = None,
        attempts: int = 6,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(client=client, table=table)
        self.analytics = analytics or AnalyticsRepository(client=client)
        self.attempts = attempts
        self.sleep = sleep

    def state(self, player_id: str, event_ids: list[str], day: str, now: float) -> IngestState:
        """Stored events among `event_ids`, and the player's FIRST and day markers: one
        BatchGetItem over both tables (up to 98 events a request)."""
        unique = list(dict.fromkeys(event_ids))
        marker_keys = [marker_key(player_id, FIRST), marker_key(player_id, day_marker(day))]
        stored: set[str] = set()
        markers: dict[str, dict[str, Any]] = {}
        chunk = BATCH_GET_MAX - len(marker_keys)
        for start in range(0, max(len(unique), 1), chunk):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [
                        to_item({"PK": event_pk(player_id), "SK": event_sk(e)}) for e in unique[start : start + chunk]
                    ],
                    "ProjectionExpression": "event_id, expires_at",
                    "ConsistentRead": True,
                },
            }
            if start == 0:
                request[self.analytics.table] = {"Keys": marker_keys, "ConsistentRead": True}
            request = {table: spec for table, spec in request.items() if spec["Keys"]}
            for raw_table, item in self._batch_get(request):
                if raw_table == self.table:
                    if float(item.get("expires_at", now + 1)) > now:  # past its expiry: gone
                        stored.add(str(item["event_id"]))
                else:
                    markers[str(item["SK"])] = item
        first = markers.get(FIRST)
        return IngestState(
            stored=frozenset(stored),
            cohort=str(first["cohort"]) if first else None,
            active_today=day_marker(day) in markers,
        )

    def store(self, events: list[StoredEvent], counts: Counts, now: float) -> Outcome:
        """One transaction: each event put unless stored (an expired copy counts as gone),
        each marker put if absent, the counters increased. Nothing is written unless all is."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": event.item(),
                    "ConditionExpression": "attribute_not_exists(PK) OR expires_at <= :now",
                    "ExpressionAttributeValues": values({":now": int(now)}),
                }
            }
            for event in events
        ]
        items += [self.analytics.marker_put(marker) for marker in counts.markers]
        for day, increments in sorted(counts.increments.items()):
            update = self.analytics.counter_update(day, increments, counts.shard, counts.expires_at(day))
            if update is not None:
                items.append(update)
        if len(items) > TRANSACTION_MAX:
            raise ValueError(f"a transaction holds at most {TRANSACTION_MAX} items, got {len(items)}")
        try:
            # The token makes botocore's own retry of a committed transaction a no-op
            # success rather than a condition failure (DynamoDB keeps it 10 minutes).
            self.client.transact_write_items(
                TransactItems=items,  # type: ignore[arg-type]
                ClientRequestToken=uuid.uuid4().hex,
            )
        except ClientError as exc:
            code = error_code(exc)
            cancelled = cancellation(exc)
            if cancelled is not None and cancelled.condition_failed:
                return Outcome.CONFLICT
            if (
                is_throttling(exc)
                or code == "TransactionConflictException"
                or (cancelled is not None and (cancelled.conflict or cancelled.throttled))
            ):
                reasons = list(cancelled.codes) if cancelled is not None else []
                logger.warning("event batch not stored yet", extra={"code": code, "reasons": reasons})
                return Outcome.BUSY
            raise
        return Outcome.STORED

    def erase_player(self, player_id: str) -> int:
        """Delete every event of the player (one partition)."""
        return delete_partition(self.client, self.table, event_pk(player_id))

    def _batch_get(self, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        return batch_get(self.client, request, attempts=self.attempts, sleep=self.sleep)
