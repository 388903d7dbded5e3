"""Analytics table: sharded daily counters and per-player "already counted" markers.

Keys:
- counters: PK `D#<day>`, SK `S#<shard>` (one item per shard per UTC day); attributes are
  counts (`events`, `sessions`, `active`, `new`, `d1`, `d7`, `t:<event type>`);
- markers: PK `M#<player_id>`, SK `E#<event_id>` (event counted), `FIRST` (first day seen:
  the player's cohort), `D#<day>` (counted active that day).

A marker is written with `attribute_not_exists` in the same transaction as the counter
increments it stands for, so a count happens exactly once however often it is replayed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.storage.base import TableRepository
from chalicelib.storage.errors import THROTTLING_CODES, error_code
from chalicelib.storage.items import from_item, to_item, values
from chalicelib.storage.players import delete_partition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TRANSACTION_MAX = 100
BATCH_GET_MAX = 100
FIRST = "FIRST"
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", *THROTTLING_CODES})


def marker_pk(player_id: str) -> str:
    return f"M#{player_id}"


def event_marker(event_id: str) -> str:
    return f"E#{event_id}"


def day_marker(day: str) -> str:
    return f"D#{day}"


def counter_key(day: str, shard: int) -> dict[str, Any]:
    return to_item({"PK": f"D#{day}", "SK": f"S#{shard:02d}"})


@dataclass(frozen=True)
class Marker:
    """A conditional put: `player_id` + `name` (an event_marker, day_marker or FIRST)."""

    player_id: str
    name: str
    expires_at: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


class AnalyticsRepository(TableRepository):
    """Every read and write of the analytics table."""

    table_key = "analytics"

    def __init__(
        self,
        *,
        client: DynamoDBClient | None = None,
        table: str | None = None,
        attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(client=client, table=table)
        self.attempts = attempts
        self.sleep = sleep

    def markers(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The markers that exist among (player_id, name) pairs: BatchGetItem, 100 a request."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        unique = list(dict.fromkeys(wanted))
        for start in range(0, len(unique), BATCH_GET_MAX):
            keys = [to_item({"PK": marker_pk(p), "SK": n}) for p, n in unique[start : start + BATCH_GET_MAX]]
            for raw in self._batch_get(keys):
                item = from_item(raw)
                found[(str(item["PK"])[2:], str(item["SK"]))] = item
        return found

    def counters(self, days: list[str], shards: int) -> dict[str, Counter[str]]:
        """Every counter of the given days, summed over shards: days x shards keys, no scan."""
        totals: dict[str, Counter[str]] = {day: Counter() for day in days}
        keys = [counter_key(day, shard) for day in days for shard in range(shards)]
        for start in range(0, len(keys), BATCH_GET_MAX):
            for raw in self._batch_get(keys[start : start + BATCH_GET_MAX]):
                item = from_item(raw)
                day = str(item["PK"])[2:]
                for name, value in item.items():
                    if name not in ("PK", "SK", "expires_at") and isinstance(value, int):
                        totals.setdefault(day, Counter())[name] += value
        return totals

    def commit(
        self,
        markers: list[Marker],
        increments: dict[str, Counter[str]],
        shard: int,
        counters_expire_at: Callable[[str], int],
    ) -> list[int]:
        """One transaction: every marker put if absent, plus the day counters (one shard a
        day) increased. Returns the indexes of markers that already existed (nothing was
        written then); retries conflicts and throttling; raises what it cannot retry."""
        items: list[dict[str, Any]] = []
        for marker in markers:
            data = {"PK": marker_pk(marker.player_id), "SK": marker.name, "expires_at": marker.expires_at}
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item({**data, **marker.attrs}),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        for day, counts in sorted(increments.items()):
            counts = +counts  # drop zeros
            if not counts:
                continue
            names = {f"#c{i}": name for i, name in enumerate(sorted(counts))}
            vals: dict[str, Any] = {f":c{i}": counts[name] for i, name in enumerate(sorted(counts))}
            vals[":exp"] = counters_expire_at(day)
            adds = ", ".join(f"#c{i} :c{i}" for i in range(len(names)))
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": counter_key(day, shard),
                        "UpdateExpression": f"ADD {adds} SET #exp = if_not_exists(#exp, :exp)",
                        "ExpressionAttributeNames": {**names, "#exp": "expires_at"},
                        "ExpressionAttributeValues": values(vals),
                    }
                }
            )
        if not items:
            return []
        if len(items) > TRANSACTION_MAX:
            raise ValueError(f"a transaction holds at most {TRANSACTION_MAX} items, got {len(items)}")
        for attempt in range(self.attempts):
            try:
                self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return []
            except ClientError as exc:
                code = error_code(exc)
                reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]  # type: ignore[attr-defined]
                if code == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
                    return [i for i, r in enumerate(reasons[: len(markers)]) if r == "ConditionalCheckFailed"]
                retryable = code in THROTTLING_CODES or (
                    code == "TransactionCanceledException" and any(r in _RETRYABLE_REASONS for r in reasons)
                )
                if code == "TransactionConflictException":
                    retryable = True
                if not retryable or attempt + 1 == self.attempts:
                    raise
                self.sleep(min(0.025 * 2**attempt, 0.5))
        return []  # pragma: no cover - the loop returns or raises

    def erase_player(self, player_id: str) -> int:
        """Delete the player's markers; counters hold no personal data and stay."""
        return delete_partition(self.client, self.table, marker_pk(player_id))

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(self.attempts):
            resp = self.client.batch_get_item(RequestItems=request)
            out.extend(resp.get("Responses", {}).get(self.table, []))
            request = resp.get("UnprocessedKeys") or {}  # type: ignore[assignment]
            if not request:
                return out
            self.sleep(min(0.025 * 2**attempt, 0.5))
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "keys left unprocessed"}},
            "BatchGetItem",
        )
