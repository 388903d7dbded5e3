"""Achievements table: per-player progress and unlocks, sharded rarity counters.

Keys:
  P#<player> / A#<achievement>   progress, unlocked_at, reward_given
  P#<player> / #COUNTED          the player is in the players counter (so erasure undoes it once)
  COUNT#<name>#<shard> / N       one shard of a counter: `a:<achievement>` (unlocks) or `players`
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import Throttled
from chalicelib.storage.base import TableRepository
from chalicelib.storage.batch import batch_get_items
from chalicelib.storage.cancellation import cancellation, condition_failed
from chalicelib.storage.items import from_item, to_item, values
from chalicelib.storage.retry import retry

SHARDS = 8
PLAYERS_COUNTER = "players"
COUNTED = "#COUNTED"
RECORD_PREFIX = "A#"
CONFLICT_RETRIES = 6


def player_pk(player_id: str) -> str:
    return f"P#{player_id}"


def unlocks_counter(achievement_id: str) -> str:
    return f"a:{achievement_id}"


def _shard_key(counter: str, shard: int) -> dict[str, Any]:
    return to_item({"PK": f"COUNT#{counter}#{shard}", "SK": "N"})


@dataclass(frozen=True)
class AchievementRecord:
    """A player's record of one achievement: the progress reported so far, and when it was
    unlocked (with its reward given or not)."""

    player_id: str
    achievement_id: str
    progress: float = 0
    unlocked_at: str | None = None
    reward_given: bool = False
    updated_at: str | None = None


def _record(player_id: str, achievement_id: str, item: Mapping[str, Any]) -> AchievementRecord:
    return AchievementRecord(
        player_id=player_id,
        achievement_id=achievement_id,
        progress=item.get("progress", 0),
        unlocked_at=item.get("unlocked_at"),
        reward_given=bool(item.get("reward_given", False)),
        updated_at=item.get("updated_at"),
    )


class _Held(Exception):
    """Another transaction held one of the unlock's items."""


class AchievementsRepository(TableRepository):
    """Every read and write of the achievements table."""

    table_key = "achievements"

    # per-player records -----------------------------------------------------------------

    def records(self, player_id: str, bound: int = 1000) -> dict[str, AchievementRecord]:
        """The player's achievement records by id (a Query, paged, at most `bound` items)."""
        out: dict[str, AchievementRecord] = {}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :a)",
            "ExpressionAttributeValues": values({":pk": player_pk(player_id), ":a": RECORD_PREFIX}),
            "ConsistentRead": True,
            "Limit": 100,
        }
        while len(out) < bound:
            resp = self.client.query(**kwargs)
            for raw in resp.get("Items", []):
                item = from_item(raw)
                achievement_id = item["SK"][len(RECORD_PREFIX) :]
                out[achievement_id] = _record(player_id, achievement_id, item)
            if not resp.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return out

    def record(self, player_id: str, achievement_id: str, consistent: bool = True) -> AchievementRecord | None:
        """The player's record of one achievement, None when there is none yet."""
        resp = self.client.get_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": RECORD_PREFIX + achievement_id}),
            ConsistentRead=consistent,
        )
        item = from_item(resp.get("Item"))
        return _record(player_id, achievement_id, item) if item else None

    def add_progress(self, player_id: str, achievement_id: str, steps: int, now: str) -> tuple[AchievementRecord, bool]:
        """Add steps unless already unlocked: (the record after, whether the steps were added)."""
        try:
            resp = self.client.update_item(
                TableName=self.table,
                Key=to_item({"PK": player_pk(player_id), "SK": RECORD_PREFIX + achievement_id}),
                UpdateExpression="ADD progress :n SET updated_at = :now, player_id = :pid, achievement_id = :aid",
                ConditionExpression="attribute_not_exists(unlocked_at)",
                ExpressionAttributeValues=values({":n": steps, ":now": now, ":pid": player_id, ":aid": achievement_id}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return _record(player_id, achievement_id, from_item(resp.get("Attributes"))), True
        except ClientError as exc:
            if condition_failed(exc):
                old = from_item(exc.response.get("Item"))  # type: ignore[arg-type]
                return _record(player_id, achievement_id, old), False
            raise

    def unlock(
        self,
        player_id: str,
        achievement_id: str,
        *,
        now: str,
        progress: float | None,
        reward: dict[str, Any] | None = None,
    ) -> str | None:
        """Unlock once, in ONE transaction with the rarity counter and the reward.

        Returns None when the achievement was already unlocked (nothing written),
        "rewarded" or "unlocked" when this call unlocked it, or "reward_refused" when the
        reward would leave its stat's bounds (unlocked without it). `reward` is the stat
        update's parameters from PlayersRepository.stats_update.
        """

        def once(_attempt: int) -> str | None:
            give = reward is not None
            try:
                self._transact(self._unlock_items(player_id, achievement_id, now, progress, reward if give else None))
                return "rewarded" if give else "unlocked"
            except ClientError as exc:
                cancelled = cancellation(exc)
                if cancelled is None:
                    raise
                if cancelled.failed(0):
                    return None
                if not cancelled.failed(2):
                    if cancelled.conflict and not cancelled.throttled:
                        raise _Held from exc
                    raise
            # The reward would leave the stat's bounds: unlock without it, still once.
            try:
                self._transact(self._unlock_items(player_id, achievement_id, now, progress, None))
                return "reward_refused"
            except ClientError as again:
                cancelled = cancellation(again)
                if cancelled is None:
                    raise
                if cancelled.failed(0):
                    return None
                if cancelled.conflict and not cancelled.throttled:
                    raise _Held from again
                raise

        # Another transaction held one of the items: back off and try again.
        return retry(
            once,
            attempts=CONFLICT_RETRIES,
            retry_on=(_Held,),
            exhausted=lambda: Throttled("the achievement is busy, retry shortly"),
            cap=1.0,
        )

    def _unlock_items(
        self,
        player_id: str,
        achievement_id: str,
        now: str,
        progress: float | None,
        reward: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        sets = {":at": now, ":pid": player_id, ":aid": achievement_id, ":rg": reward is not None}
        expr = "SET unlocked_at = :at, updated_at = :at, player_id = :pid, achievement_id = :aid, reward_given = :rg"
        if progress is not None:
            sets[":p"] = progress
            expr += ", progress = :p"
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": to_item({"PK": player_pk(player_id), "SK": RECORD_PREFIX + achievement_id}),
                    "UpdateExpression": expr,
                    "ConditionExpression": "attribute_not_exists(unlocked_at)",
                    "ExpressionAttributeValues": values(sets),
                }
            },
            self._count_item(unlocks_counter(achievement_id), 1),
        ]
        if reward is not None:
            items.append({"Update": reward})
        return items

    def _transact(self, items: list[dict[str, Any]]) -> None:
        self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    # counters ---------------------------------------------------------------------------

    def _count_item(self, counter: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": _shard_key(counter, random.randrange(SHARDS)),
                "UpdateExpression": "ADD n :d",
                "ExpressionAttributeValues": values({":d": delta}),
            }
        }

    def counts(self, counters: list[str]) -> dict[str, int]:
        """Sum every shard of each counter: ceil(len * SHARDS / 100) BatchGetItems."""
        keys = [_shard_key(c, s) for c in dict.fromkeys(counters) for s in range(SHARDS)]
        totals = dict.fromkeys(counters, 0)
        read = batch_get_items(
            self.client,
            self.table,
            keys,
            consistent=True,
            exhausted=lambda: Throttled("rarity counters could not be read"),
        )
        for item in read:
            counter = item["PK"][len("COUNT#") :].rsplit("#", 1)[0]
            totals[counter] = totals.get(counter, 0) + int(item.get("n", 0))
        return totals

    def count_player(self, player_id: str) -> bool:
        """Count a player in the denominator once (marker + counter, one transaction)."""
        try:
            self._transact(
                [
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": to_item({"PK": player_pk(player_id), "SK": COUNTED}),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    self._count_item(PLAYERS_COUNTER, 1),
                ]
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    # erasure ----------------------------------------------------------------------------

    def erase_player(self, player_id: str) -> int:
        """Delete the player's records; unlocks and the player leave the counters once."""
        erased = 0
        pk = player_pk(player_id)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": values({":pk": pk}),
            "ConsistentRead": True,
            "Limit": 100,
        }
        while True:
            resp = self.client.query(**kwargs)
            for item in (from_item(raw) for raw in resp.get("Items", [])):
                key = to_item({"PK": pk, "SK": item["SK"]})
                if item["SK"] == COUNTED:
                    erased += self._delete_counted(key, "attribute_exists(PK)", PLAYERS_COUNTER)
                elif item.get("unlocked_at"):
                    counter = unlocks_counter(item["SK"][len(RECORD_PREFIX) :])
                    erased += self._delete_counted(key, "attribute_exists(unlocked_at)", counter)
                else:
                    self.client.delete_item(TableName=self.table, Key=key)
                    erased += 1
            if not resp.get("LastEvaluatedKey"):
                return erased
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _delete_counted(self, key: dict[str, Any], condition: str, counter: str) -> int:
        try:
            self._transact(
                [
                    {"Delete": {"TableName": self.table, "Key": key, "ConditionExpression": condition}},
                    self._count_item(counter, -1),
                ]
            )
            return 1
        except ClientError as exc:
            if condition_failed(exc):  # already erased by an earlier (retried) deletion
                return 0
            raise
