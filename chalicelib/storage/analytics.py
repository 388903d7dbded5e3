"""Analytics table: sharded daily counters and per-player first-seen and active-day markers.

Keys:
- counters: PK `D#<day>`, SK `S#<shard>` (one item per shard per UTC day); attributes are
  counts (`events`, `sessions`, `active`, `new`, `d1`, `d7`, `t:<event type>`);
- markers: PK `M#<player_id>`, SK `FIRST` (first day seen: the player's cohort) or
  `D#<day>` (counted active that day).

Counters and markers are written in the same transaction as the events they count (see
storage/events.py): a marker is put only if absent, so a player is counted active or new
once however many requests race.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.storage.base import TableRepository
from chalicelib.storage.batch import batch_get_items
from chalicelib.storage.items import to_item, values
from chalicelib.storage.players import delete_partition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FIRST = "FIRST"


def marker_pk(player_id: str) -> str:
    return f"M#{player_id}"


def day_marker(day: str) -> str:
    return f"D#{day}"


def counter_key(day: str, shard: int) -> dict[str, Any]:
    return to_item({"PK": f"D#{day}", "SK": f"S#{shard:02d}"})


def marker_key(player_id: str, name: str) -> dict[str, Any]:
    return to_item({"PK": marker_pk(player_id), "SK": name})


@dataclass(frozen=True)
class Marker:
    """A put if absent: `player_id` + `name` (a day_marker or FIRST)."""

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

    def counters(self, days: list[str], shards: int) -> dict[str, Counter[str]]:
        """Every counter of the given days, summed over shards: days x shards keys, no scan."""
        totals: dict[str, Counter[str]] = {day: Counter() for day in days}
        keys = [counter_key(day, shard) for day in days for shard in range(shards)]
        read = batch_get_items(self.client, self.table, keys, consistent=True, attempts=self.attempts, sleep=self.sleep)
        for item in read:
            day = str(item["PK"])[2:]
            for name, value in item.items():
                if name not in ("PK", "SK", "expires_at") and isinstance(value, int):
                    totals.setdefault(day, Counter())[name] += value
        return totals

    def marker_put(self, marker: Marker) -> dict[str, Any]:
        """The transaction item that puts a marker if it is absent."""
        data = {"PK": marker_pk(marker.player_id), "SK": marker.name, "expires_at": marker.expires_at}
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item({**data, **marker.attrs}),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def counter_update(self, day: str, counts: Counter[str], shard: int, expires_at: int) -> dict[str, Any] | None:
        """The transaction item that adds `counts` to one shard of a day's counters."""
        counts = +counts  # drop zeros
        if not counts:
            return None
        names = {f"#c{i}": name for i, name in enumerate(sorted(counts))}
        vals: dict[str, Any] = {f":c{i}": counts[name] for i, name in enumerate(sorted(counts))}
        vals[":exp"] = expires_at
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(names)))
        return {
            "Update": {
                "TableName": self.table,
                "Key": counter_key(day, shard),
                "UpdateExpression": f"ADD {adds} SET #exp = if_not_exists(#exp, :exp)",
                "ExpressionAttributeNames": {**names, "#exp": "expires_at"},
                "ExpressionAttributeValues": values(vals),
            }
        }

    def erase_player(self, player_id: str) -> int:
        """Delete the player's markers; counters hold no personal data and stay."""
        return delete_partition(self.client, self.table, marker_pk(player_id))
