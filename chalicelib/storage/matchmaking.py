"""Matchmaking table: tickets, per-player active-ticket pointers, matches, wait samples.

Keys (known only here):
  ticket          PK=PLAYER#<leader>  SK=TICKET#<ticket_id>   (ticket ids are "<leader>.<hex>")
  active pointer  PK=PLAYER#<player>  SK=ACTIVE               (the player's latest ticket)
  match           PK=MATCH#<match_id> SK=MATCH
  wait sample     PK=WAITS#<queue>#<region> SK=<slot>         (a small ring of recent waits)

A match carries RPK=RECENT#<hour>#<shard> (index `recent_matches`, ordered by creation), so
the console lists the last hour's matches with a few bounded Queries and no Scan.

A ticket carries WPK=<queue>#<region> (index `waiting`, ordered by skill) only while it is
searching, and XPK=<queue>#<region> (index `open_by_timeout`, ordered by timeout) while it
is forming or searching; leaving those states removes the attribute, so the ticket drops
out of the sparse index.
"""

from __future__ import annotations

import secrets
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ConditionFailed
from chalicelib.storage.base import TableRepository
from chalicelib.storage.errors import THROTTLING_CODES, condition_failed, error_code
from chalicelib.storage.items import from_item, serialize, to_item, values
from chalicelib.storage.players import batch_write_all, delete_partition

ACTIVE = "ACTIVE"
WAIT_SLOTS = 16
RECENT_SHARDS = 4  # spreads the `recent_matches` index over partitions; reads merge them
_TICKET_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _player_pk(player_id: str) -> str:
    return f"PLAYER#{player_id}"


def _queue_key(queue: str, region: str) -> str:
    return f"{queue}#{region}"


def recent_pk(hour: int, shard: int) -> str:
    return f"RECENT#{hour}#{shard}"


def _ticket_key(ticket_id: str) -> dict[str, Any]:
    leader = leader_of(ticket_id)
    if leader is None:
        raise ValueError("malformed ticket id")
    return to_item({"PK": _player_pk(leader), "SK": f"TICKET#{ticket_id}"})


def leader_of(ticket_id: str) -> str | None:
    """The leader encoded in a ticket id, or None when the id is malformed."""
    leader, dot, suffix = ticket_id.rpartition(".")
    if not dot or not leader or len(ticket_id) > 120 or len(suffix) != 16:
        return None
    if not set(leader) <= _TICKET_ID_CHARS or not set(suffix) <= set("0123456789abcdef"):
        return None
    return leader


def new_ticket_id(leader: str) -> str:
    return f"{leader}.{secrets.token_hex(8)}"


def new_match_id() -> str:
    return secrets.token_hex(12)


class ClaimLost(Exception):
    """A match claim was cancelled: `lost` holds the ticket ids someone else changed."""

    def __init__(self, lost: set[str]) -> None:
        super().__init__("claim lost")
        self.lost = lost


class MatchmakingRepository(TableRepository):
    """Every read and write of the matchmaking table."""

    table_key = "matchmaking"

    # reads ------------------------------------------------------------------------------

    def get_ticket(self, ticket_id: str) -> dict[str, Any] | None:
        if leader_of(ticket_id) is None:
            return None
        resp = self.client.get_item(TableName=self.table, Key=_ticket_key(ticket_id), ConsistentRead=True)
        return _ticket(from_item(resp.get("Item"))) or None

    def get_active(self, player_id: str) -> str | None:
        """The id of the player's latest ticket (which may have ended since)."""
        resp = self.client.get_item(
            TableName=self.table,
            Key=to_item({"PK": _player_pk(player_id), "SK": ACTIVE}),
            ConsistentRead=True,
        )
        item = from_item(resp.get("Item"))
        return item.get("ticket_id") if item else None

    def get_match(self, match_id: str) -> dict[str, Any] | None:
        if not match_id or len(match_id) > 64:
            return None
        resp = self.client.get_item(
            TableName=self.table, Key=to_item({"PK": f"MATCH#{match_id}", "SK": "MATCH"}), ConsistentRead=True
        )
        item = from_item(resp.get("Item"))
        return {k: v for k, v in item.items() if k not in ("PK", "SK", "RPK")} or None

    def waiting(self, queue: str, region: str, *, low: float, high: float, limit: int) -> list[dict[str, Any]]:
        """ONE Query of the `waiting` index: searching tickets with skill in [low, high]."""
        resp = self.client.query(
            TableName=self.table,
            IndexName="waiting",
            KeyConditionExpression="WPK = :w AND skill BETWEEN :lo AND :hi",
            ExpressionAttributeValues=values({":w": _queue_key(queue, region), ":lo": low, ":hi": high}),
            Limit=limit,
        )
        return [_ticket(from_item(item)) for item in resp.get("Items", [])]

    def wait_samples(self, queue: str, region: str) -> list[dict[str, Any]]:
        """The ring of recent match waits for a queue and region (one Query, bounded)."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=values({":pk": f"WAITS#{_queue_key(queue, region)}"}),
            Limit=WAIT_SLOTS,
        )
        return [from_item(item) for item in resp.get("Items", [])]

    def count_waiting(self, queue: str, region: str, cap: int) -> int:
        """How many tickets are searching in a queue and region, counted up to `cap` (Query, COUNT)."""
        counted = 0
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "waiting",
            "KeyConditionExpression": "WPK = :w",
            "ExpressionAttributeValues": values({":w": _queue_key(queue, region)}),
            "Select": "COUNT",
            "Limit": cap,
        }
        while counted < cap:
            resp = self.client.query(**kwargs)
            counted += int(resp.get("Count", 0))
            last = resp.get("LastEvaluatedKey")
            if not last:
                break
            kwargs["ExclusiveStartKey"] = last
            kwargs["Limit"] = cap - counted
        return min(counted, cap)

    def count_recent_matches(self, since: float, now: float, cap: int) -> int:
        """How many matches were created in [since, now], counted up to `cap` (COUNT Queries)."""
        counted = 0
        for hour in range(int(since // 3600), int(now // 3600) + 1):
            for shard in range(RECENT_SHARDS):
                kwargs: dict[str, Any] = {
                    "TableName": self.table,
                    "IndexName": "recent_matches",
                    "KeyConditionExpression": "RPK = :r AND created_at >= :since",
                    "ExpressionAttributeValues": values({":r": recent_pk(hour, shard), ":since": since}),
                    "Select": "COUNT",
                }
                while counted < cap:
                    resp = self.client.query(**kwargs, Limit=cap - counted)
                    counted += int(resp.get("Count", 0))
                    last = resp.get("LastEvaluatedKey")
                    if not last:
                        break
                    kwargs["ExclusiveStartKey"] = last
        return min(counted, cap)

    def recent_matches(self, since: float, now: float, limit: int) -> list[dict[str, Any]]:
        """Matches created in [since, now], newest first, at most `limit` per hour and shard."""
        found: list[dict[str, Any]] = []
        for hour in range(int(since // 3600), int(now // 3600) + 1):
            for shard in range(RECENT_SHARDS):
                resp = self.client.query(
                    TableName=self.table,
                    IndexName="recent_matches",
                    KeyConditionExpression="RPK = :r AND created_at >= :since",
                    ExpressionAttributeValues=values({":r": recent_pk(hour, shard), ":since": since}),
                    ScanIndexForward=False,
                    Limit=limit,
                )
                for raw in resp.get("Items", []):
                    item = from_item(raw)
                    found.append({k: v for k, v in item.items() if k not in ("PK", "SK", "RPK")})
        found.sort(key=lambda m: float(m["created_at"]), reverse=True)
        return found[:limit]

    def past_timeout(self, queue: str, region: str, now: float, limit: int = 100) -> list[str]:
        """Ids of open tickets whose timeout has passed (a page of the sparse timeout index)."""
        resp = self.client.query(
            TableName=self.table,
            IndexName="open_by_timeout",
            KeyConditionExpression="XPK = :x AND timeout_at <= :now",
            ExpressionAttributeValues=values({":x": _queue_key(queue, region), ":now": now}),
            Limit=limit,
        )
        return [from_item(item)["SK"].removeprefix("TICKET#") for item in resp.get("Items", [])]

    # writes -----------------------------------------------------------------------------

    def create_ticket(self, ticket: dict[str, Any], *, replaces: str | None, expires_at: int) -> None:
        """Write a ticket and point the leader's active pointer at it, in one transaction.

        The pointer's condition (absent, or still naming `replaces`, an ended ticket) is
        what keeps one active ticket per player. Raises ConditionFailed when it fails.
        """
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(_ticket_item(ticket)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                self._pointer_put(ticket["leader"], ticket["ticket_id"], replaces, expires_at),
            ]
        )

    def put_tickets(self, tickets: list[dict[str, Any]]) -> None:
        """Bulk-load tickets without pointers (benchmarks and fixtures), 25 per request."""
        requests = [{"PutRequest": {"Item": to_item(_ticket_item(t))}} for t in tickets]
        for start in range(0, len(requests), 25):
            batch_write_all(self.client, self.table, requests[start : start + 25])

    def join_ticket(
        self,
        ticket_id: str,
        *,
        player_id: str,
        skill: float,
        joined_before: int,
        complete: dict[str, Any] | None,
        replaces: str | None,
        now: float,
        expires_at: int,
    ) -> None:
        """Add a member to a forming ticket and point their active pointer at it.

        `joined_before` (how many had joined when read) makes concurrent joins serialize;
        `complete` (skill, searching_since, queue key) turns the ticket to searching.
        """
        names = {"#st": "status", "#j": "joined", "#sk": "skills", "#p": player_id}
        vals: dict[str, Any] = {
            ":me": [player_id],
            ":pid": player_id,
            ":s": skill,
            ":forming": "forming",
            ":now": now,
            ":n": joined_before,
        }
        sets = ["#j = list_append(#j, :me)", "#sk.#p = :s"]
        if complete is not None:
            names.update({"#skill": "skill", "#w": "WPK"})
            vals.update(
                {
                    ":searching": "searching",
                    ":skill": complete["skill"],
                    ":since": complete["searching_since"],
                    ":wpk": complete["wpk"],
                }
            )
            sets += ["#st = :searching", "#skill = :skill", "searching_since = :since", "#w = :wpk"]
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _ticket_key(ticket_id),
                        "UpdateExpression": "SET " + ", ".join(sets),
                        "ConditionExpression": "#st = :forming AND contains(members, :pid) AND "
                        "NOT contains(#j, :pid) AND size(#j) = :n AND timeout_at > :now",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values(vals),
                    }
                },
                self._pointer_put(player_id, ticket_id, replaces, expires_at),
            ]
        )

    def end_ticket(
        self, ticket_id: str, *, status: str, now: float, only_if_past_timeout: bool = False
    ) -> dict[str, Any] | None:
        """Move an open ticket to `status` (cancelled, timed_out) and out of both indexes.

        The ended ticket; None when it was no longer open (matched, or already ended).
        """
        condition = "#st IN (:forming, :searching)"
        condition += " AND timeout_at <= :now" if only_if_past_timeout else " AND timeout_at > :now"
        try:
            resp = self.client.update_item(
                TableName=self.table,
                Key=_ticket_key(ticket_id),
                UpdateExpression="SET #st = :status, ended_at = :now REMOVE WPK, XPK",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=values(
                    {":status": status, ":now": now, ":forming": "forming", ":searching": "searching"}
                ),
                ReturnValues="ALL_NEW",
            )
            return _ticket(from_item(resp.get("Attributes"))) or {"ticket_id": ticket_id, "status": status}
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise

    def claim(self, tickets: list[dict[str, Any]], match: dict[str, Any], sample: dict[str, Any], now: float) -> None:
        """Claim every ticket of a match and write the match, in ONE transaction.

        Each ticket must still be searching and not past its timeout. Raises ClaimLost
        naming the tickets that failed their condition.
        """
        slot = int(match["match_id"][:4], 16) % WAIT_SLOTS
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _ticket_key(t["ticket_id"]),
                    "UpdateExpression": "SET #st = :matched, match_id = :mid, matched_at = :now REMOVE WPK, XPK",
                    "ConditionExpression": "#st = :searching AND timeout_at > :now",
                    "ExpressionAttributeNames": {"#st": "status"},
                    "ExpressionAttributeValues": values(
                        {":matched": "matched", ":searching": "searching", ":mid": match["match_id"], ":now": now}
                    ),
                }
            }
            for t in tickets
        ]
        actions.append(
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {
                            "PK": f"MATCH#{match['match_id']}",
                            "SK": "MATCH",
                            "RPK": recent_pk(int(float(match["created_at"]) // 3600), slot % RECENT_SHARDS),
                            **match,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        )
        actions.append(
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {"PK": f"WAITS#{_queue_key(match['queue'], match['region'])}", "SK": f"{slot:02d}", **sample}
                    ),
                }
            }
        )
        try:
            self.client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]  # type: ignore[attr-defined]
            if any(r in THROTTLING_CODES or r == "ThrottlingError" for r in reasons):
                raise
            lost = {
                t["ticket_id"]
                for t, reason in zip(tickets, reasons, strict=False)
                if reason in ("ConditionalCheckFailed", "TransactionConflict")
            }
            raise ClaimLost(lost) from exc

    def erase(self, player_id: str) -> int:
        """Delete the player's pointer and the tickets they led."""
        return delete_partition(self.client, self.table, _player_pk(player_id))

    # helpers ----------------------------------------------------------------------------

    def _pointer_put(self, player_id: str, ticket_id: str, replaces: str | None, expires_at: int) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self.table,
            "Item": to_item(
                {"PK": _player_pk(player_id), "SK": ACTIVE, "ticket_id": ticket_id, "expires_at": expires_at}
            ),
        }
        if replaces is None:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "ticket_id = :prev"
            put["ExpressionAttributeValues"] = {":prev": serialize(replaces)}
        return {"Put": put}

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        try:
            self.client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            failed = condition_failed(exc)
            if failed:
                raise failed from exc
            if error_code(exc) == "TransactionCanceledException":
                raise ConditionFailed(reasons=["TransactionConflict"]) from exc
            raise


def _ticket_item(ticket: dict[str, Any]) -> dict[str, Any]:
    leader = ticket["leader"]
    item = {"PK": _player_pk(leader), "SK": f"TICKET#{ticket['ticket_id']}", **ticket}
    key = _queue_key(ticket["queue"], ticket["region"])
    item["XPK"] = key
    if ticket["status"] == "searching":
        item["WPK"] = key
    return item


def _ticket(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", "WPK", "XPK")}
