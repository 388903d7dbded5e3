"""Notifications table: per-player inboxes, unread counters, broadcasts and read markers.

Keys (ids are time-ordered: `n`/`b` + 13-digit epoch milliseconds + 8 hex; `t` is the id
without its letter, the order shared by inbox items and broadcasts):
  P#<player> / N#n<t>     an inbox item; USK (= SK) only while unread (sparse GSI `unread`)
  P#<player> / D#<key>    a dedupe marker (a retried send with the same key is a no-op)
  P#<player> / #UNREAD    unread counters by expiry day: attribute d<day> = count
  P#<player> / #BMARK     broadcast read markers: upto (a t), rd (read ids), hd (hidden ids)
  BROADCAST / N#b<t>      a broadcast, one item for everyone
  BROADCAST / D#<key>     a broadcast's dedupe marker
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import Throttled
from chalicelib.storage.base import TableRepository
from chalicelib.storage.batch import batch_get_items
from chalicelib.storage.cancellation import cancellation, condition_failed
from chalicelib.storage.items import from_item, to_item, values
from chalicelib.storage.players import delete_partition
from chalicelib.storage.retry import retry

BROADCAST_PK = "BROADCAST"
INBOX_SK = "N#n"
BROADCAST_SK = "N#b"
UNREAD = "#UNREAD"
MARKS = "#BMARK"
DEDUPE = "D#"
MAX_TRANSACTION = 99  # plus the counter item: DynamoDB's limit is 100 actions


def player_pk(player_id: str) -> str:
    return f"P#{player_id}"


def bucket(day: int) -> str:
    return f"d{day}"


def _t_of_sk(sk: str) -> str:
    return sk[len(INBOX_SK) :]


class _Changed(Exception):
    """Some items of a read-marking transaction changed meanwhile."""


@dataclass(frozen=True)
class Notification:
    """One inbox item (`n…` id) or one broadcast (`b…`); `read` is the inbox item's own
    state (a broadcast's read state is the player's `BroadcastMarks`)."""

    id: str
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: str
    expires_at: int  # epoch seconds: the midnight that ends its expiry day
    read: bool = False


@dataclass(frozen=True)
class BroadcastMarks:
    """A player's view of the broadcasts: all up to `upto` (a t) read, plus explicit ids."""

    upto: str = ""
    read: frozenset[str] = field(default_factory=frozenset)
    hidden: frozenset[str] = field(default_factory=frozenset)


def _notification(item: dict[str, Any]) -> Notification:
    return Notification(
        id=str(item["id"]),
        kind=str(item.get("kind", "")),
        title=str(item.get("title", "")),
        body=str(item.get("body", "")),
        data=dict(item.get("data") or {}),
        created_at=str(item.get("created_at", "")),
        expires_at=int(item.get("expires_at", 0)),
        read=bool(item.get("read")),
    )


def _sk(notification_id: str) -> str:
    return (INBOX_SK if notification_id[0] == "n" else BROADCAST_SK) + notification_id[1:]


class NotificationsRepository(TableRepository):
    """Every read and write of the notifications table."""

    table_key = "notifications"

    def _transact(self, items: list[dict[str, Any]]) -> None:
        self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    # writes -----------------------------------------------------------------------------

    def put(self, player_id: str | None, note: Notification, *, day: int, dedupe_key: str | None) -> bool:
        """Store one notification (player_id None: a broadcast); False for a duplicate."""
        pk = player_pk(player_id) if player_id else BROADCAST_PK
        sk = (INBOX_SK if player_id else BROADCAST_SK) + note.id[1:]
        record = {"PK": pk, "SK": sk, **asdict(note)}
        if player_id:
            record["USK"] = sk
        actions: list[dict[str, Any]] = []
        if dedupe_key:
            marker = {"PK": pk, "SK": DEDUPE + dedupe_key, "id": note.id, "expires_at": note.expires_at}
            actions.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(marker),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        actions.append(
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(record),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        )
        if player_id:
            actions.append(self._counter_update(pk, {day: 1}))
        try:
            self._transact(actions)
            return True
        except ClientError as exc:
            if condition_failed(exc) and dedupe_key:
                return False
            raise

    def _counter_update(self, pk: str, deltas: dict[int, int]) -> dict[str, Any]:
        names = {f"#d{i}": bucket(day) for i, day in enumerate(deltas)}
        vals = {f":d{i}": delta for i, delta in enumerate(deltas.values())}
        return {
            "Update": {
                "TableName": self.table,
                "Key": to_item({"PK": pk, "SK": UNREAD}),
                "UpdateExpression": "ADD " + ", ".join(f"#d{i} :d{i}" for i in range(len(deltas))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values(vals),
            }
        }

    def mark_read(
        self, player_id: str, items: list[Notification], now: int, day_of: Callable[[Notification], int]
    ) -> int:
        """Mark unread, live inbox items read with the counter, in transactions; how many flipped."""
        marked = 0
        pending = [i for i in items if not i.read and i.expires_at > now]
        pk = player_pk(player_id)
        while pending:
            chunk, pending = pending[:MAX_TRANSACTION], pending[MAX_TRANSACTION:]

            def once(_attempt: int) -> int:
                nonlocal chunk
                if not chunk:
                    return 0
                deltas: dict[int, int] = {}
                for item in chunk:
                    day = day_of(item)
                    deltas[day] = deltas.get(day, 0) - 1
                actions = [
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": to_item({"PK": pk, "SK": _sk(item.id)}),
                            "UpdateExpression": "SET #r = :t REMOVE USK",
                            "ConditionExpression": "#r = :f AND expires_at > :now",
                            "ExpressionAttributeNames": {"#r": "read"},
                            "ExpressionAttributeValues": values({":t": True, ":f": False, ":now": now}),
                        }
                    }
                    for item in chunk
                ]
                try:
                    self._transact([*actions, self._counter_update(pk, deltas)])
                    return len(chunk)
                except ClientError as exc:
                    cancelled = cancellation(exc)
                    if cancelled is None or cancelled.throttled:
                        raise
                    # Drop the items someone else read (or that expired) and try the rest.
                    gone = set(cancelled.failed_indexes())
                    chunk = [item for i, item in enumerate(chunk) if i not in gone]
                    raise _Changed from exc

            marked += retry(
                once, attempts=4, retry_on=(_Changed,), exhausted=lambda: Throttled("the inbox is busy, retry shortly")
            )
        return marked

    def delete(self, player_id: str, item: Notification, day: int | None) -> bool:
        """Delete an inbox item seen in the state `item`; the counter too if it was unread."""
        pk = player_pk(player_id)
        actions: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": to_item({"PK": pk, "SK": _sk(item.id)}),
                    "ConditionExpression": "#r = :seen",
                    "ExpressionAttributeNames": {"#r": "read"},
                    "ExpressionAttributeValues": values({":seen": item.read}),
                }
            }
        ]
        if day is not None:
            actions.append(self._counter_update(pk, {day: -1}))
        try:
            self._transact(actions)
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    def add_marks(self, player_id: str, *, read: set[str] | None = None, hidden: set[str] | None = None) -> None:
        """Add broadcast ids to the player's read or hidden sets."""
        parts: list[str] = []
        names: dict[str, str] = {}
        vals: dict[str, Any] = {}
        if read:
            parts.append("#rd :rd")
            names["#rd"], vals[":rd"] = "rd", set(read)
        if hidden:
            parts.append("#hd :hd")
            names["#hd"], vals[":hd"] = "hd", set(hidden)
        if not parts:
            return
        self.client.update_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": MARKS}),
            UpdateExpression="ADD " + ", ".join(parts),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values(vals),
        )

    def set_watermark(self, player_id: str, t: str) -> None:
        """Every broadcast up to `t` is read; explicit read ids become redundant."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"PK": player_pk(player_id), "SK": MARKS}),
                UpdateExpression="SET upto = :t REMOVE rd",
                ConditionExpression="attribute_not_exists(upto) OR upto < :t",
                ExpressionAttributeValues=values({":t": t}),
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise

    def prune_buckets(self, player_id: str, days: list[int]) -> None:
        """Drop the counters of days already expired (nothing adds to them any more)."""
        names = [bucket(day) for day in days]
        self.client.update_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": UNREAD}),
            UpdateExpression="REMOVE " + ", ".join(f"#b{i}" for i in range(len(names))),
            ExpressionAttributeNames={f"#b{i}": name for i, name in enumerate(names)},
        )

    # reads ------------------------------------------------------------------------------

    def player_meta(self, player_id: str) -> tuple[dict[int, int], BroadcastMarks]:
        """The unread counts by expiry day and the broadcast markers, in one Query."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :h)",
            ExpressionAttributeValues=values({":pk": player_pk(player_id), ":h": "#"}),
            ConsistentRead=True,
            Limit=10,
        )
        found = {i["SK"]: i for i in (from_item(raw) for raw in resp.get("Items", []))}
        counters = {
            int(name[1:]): int(count)
            for name, count in found.get(UNREAD, {}).items()
            if name[:1] == "d" and name[1:].isdigit()
        }
        marks = found.get(MARKS, {})
        return counters, BroadcastMarks(
            upto=str(marks.get("upto", "")),
            read=frozenset(marks.get("rd") or ()),
            hidden=frozenset(marks.get("hd") or ()),
        )

    def page(
        self, player_id: str | None, *, before: str | None, limit: int, unread_only: bool = False
    ) -> tuple[list[Notification], str | None]:
        """Newest first, ids before `before` (a t): (items, the last evaluated t or None)."""
        pk = player_pk(player_id) if player_id else BROADCAST_PK
        prefix = INBOX_SK if player_id else BROADCAST_SK
        sort = "USK" if unread_only else "SK"
        kwargs: dict[str, Any] = {"TableName": self.table, "ScanIndexForward": False, "Limit": limit}
        if unread_only:
            kwargs["IndexName"] = "unread"
        else:
            kwargs["ConsistentRead"] = True
        if before is None:
            kwargs["KeyConditionExpression"] = f"PK = :pk AND begins_with({sort}, :lo)"
            kwargs["ExpressionAttributeValues"] = values({":pk": pk, ":lo": prefix})
        else:
            # BETWEEN is inclusive: ask one more and drop the cursor's own item.
            kwargs["Limit"] = limit + 1
            kwargs["KeyConditionExpression"] = f"PK = :pk AND {sort} BETWEEN :lo AND :hi"
            kwargs["ExpressionAttributeValues"] = values({":pk": pk, ":lo": prefix, ":hi": prefix + before})
        resp = self.client.query(**kwargs)
        items = [
            _notification(i) for i in (from_item(raw) for raw in resp.get("Items", [])) if _t_of_sk(i["SK"]) != before
        ]
        if len(items) > limit:
            # The cursor's own item is gone (deleted, or read when unread_only): the extra
            # item asked for is a real one; the next page starts after the last kept.
            items = items[:limit]
            return items, items[-1].id[1:]
        last = resp.get("LastEvaluatedKey")
        return items, _t_of_sk(from_item(last)["SK"]) if last else None

    def broadcasts_after(self, after: str, limit: int) -> list[Notification]:
        """The newest broadcasts with t > after (at most `limit`)."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues=values(
                {":pk": BROADCAST_PK, ":lo": BROADCAST_SK + after, ":hi": BROADCAST_SK + "~"}
            ),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            _notification(i) for i in (from_item(raw) for raw in resp.get("Items", [])) if _t_of_sk(i["SK"]) > after
        ]

    def get_many(self, player_id: str, ids: list[str]) -> dict[str, Notification]:
        """Inbox items (`n…`) and broadcasts (`b…`) by id, in BatchGetItems of 100."""
        keys = [
            to_item({"PK": player_pk(player_id) if i[0] == "n" else BROADCAST_PK, "SK": _sk(i)})
            for i in dict.fromkeys(ids)
        ]
        read = batch_get_items(
            self.client,
            self.table,
            keys,
            consistent=True,
            exhausted=lambda: Throttled("notifications could not be read"),
        )
        notes = (_notification(item) for item in read)
        return {note.id: note for note in notes}

    # erasure ----------------------------------------------------------------------------

    def erase_player(self, player_id: str) -> int:
        return delete_partition(self.client, self.table, player_pk(player_id))
