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

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ConditionFailed
from chalicelib.storage.base import TableRepository
from chalicelib.storage.batch import batch_write
from chalicelib.storage.cancellation import cancellation, condition_failed
from chalicelib.storage.items import from_item, serialize, to_item, values
from chalicelib.storage.players import delete_partition

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


@dataclass(frozen=True)
class Ticket:
    """A matchmaking ticket: one player, or a party led by its leader, in a queue and region.

    `status` is forming (a party waiting for its members), searching, matched, cancelled or
    timed_out; `skill` (the party's mean) and `searching_since` are set once it searches.
    """

    ticket_id: str
    queue: str
    region: str
    leader: str
    members: tuple[str, ...]
    joined: tuple[str, ...]
    skills: Mapping[str, float]
    skill: float | None
    status: str
    created_at: float
    searching_since: float | None
    timeout_at: float
    expires_at: int
    match_id: str | None = None
    matched_at: float | None = None
    ended_at: float | None = None

    @property
    def party_size(self) -> int:
        return len(self.members)


@dataclass(frozen=True)
class MatchedTicket:
    """What a match remembers of each ticket it took."""

    ticket_id: str
    skill: float
    searching_since: float


@dataclass(frozen=True)
class Match:
    """A match made from searching tickets: its players, split into teams."""

    match_id: str
    queue: str
    region: str
    teams: tuple[tuple[str, ...], ...]
    players: tuple[str, ...]
    tickets: tuple[MatchedTicket, ...]
    created_at: float
    expires_at: int


@dataclass(frozen=True)
class WaitSample:
    """How long a match's tickets waited on average, and when it was made."""

    wait: float
    at: float = field(default=0.0)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def ticket_from(item: Mapping[str, Any]) -> Ticket:
    return Ticket(
        ticket_id=str(item["ticket_id"]),
        queue=str(item["queue"]),
        region=str(item["region"]),
        leader=str(item["leader"]),
        members=tuple(item["members"]),
        joined=tuple(item.get("joined") or ()),
        skills={str(k): float(v) for k, v in (item.get("skills") or {}).items()},
        skill=_opt_float(item.get("skill")),
        status=str(item["status"]),
        created_at=float(item["created_at"]),
        searching_since=_opt_float(item.get("searching_since")),
        timeout_at=float(item["timeout_at"]),
        expires_at=int(item["expires_at"]),
        match_id=item.get("match_id"),
        matched_at=_opt_float(item.get("matched_at")),
        ended_at=_opt_float(item.get("ended_at")),
    )


def match_from(item: Mapping[str, Any]) -> Match:
    return Match(
        match_id=str(item["match_id"]),
        queue=str(item["queue"]),
        region=str(item["region"]),
        teams=tuple(tuple(team) for team in item["teams"]),
        players=tuple(item["players"]),
        tickets=tuple(
            MatchedTicket(
                ticket_id=str(t["ticket_id"]), skill=float(t["skill"]), searching_since=float(t["searching_since"])
            )
            for t in item.get("tickets", [])
        ),
        created_at=float(item["created_at"]),
        expires_at=int(item["expires_at"]),
    )


def _plain(record: Ticket | Match | WaitSample) -> dict[str, Any]:
    return dataclasses.asdict(record)


class ClaimLost(Exception):
    """A match claim was cancelled: `lost` holds the ticket ids someone else changed."""

    def __init__(self, lost: set[str]) -> None:
        super().__init__("claim lost")
        self.lost = lost


class MatchmakingRepository(TableRepository):
    """Every read and write of the matchmaking table."""

    table_key = "matchmaking"

    # reads ------------------------------------------------------------------------------

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        if leader_of(ticket_id) is None:
            return None
        resp = self.client.get_item(TableName=self.table, Key=_ticket_key(ticket_id), ConsistentRead=True)
        item = from_item(resp.get("Item"))
        return ticket_from(item) if item else None

    def get_active(self, player_id: str) -> str | None:
        """The id of the player's latest ticket (which may have ended since)."""
        resp = self.client.get_item(
            TableName=self.table,
            Key=to_item({"PK": _player_pk(player_id), "SK": ACTIVE}),
            ConsistentRead=True,
        )
        item = from_item(resp.get("Item"))
        return item.get("ticket_id") if item else None

    def get_match(self, match_id: str) -> Match | None:
        if not match_id or len(match_id) > 64:
            return None
        resp = self.client.get_item(
            TableName=self.table, Key=to_item({"PK": f"MATCH#{match_id}", "SK": "MATCH"}), ConsistentRead=True
        )
        item = from_item(resp.get("Item"))
        return match_from(item) if item else None

    def waiting(self, queue: str, region: str, *, low: float, high: float, limit: int) -> list[Ticket]:
        """ONE Query of the `waiting` index: searching tickets with skill in [low, high]."""
        resp = self.client.query(
            TableName=self.table,
            IndexName="waiting",
            KeyConditionExpression="WPK = :w AND skill BETWEEN :lo AND :hi",
            ExpressionAttributeValues=values({":w": _queue_key(queue, region), ":lo": low, ":hi": high}),
            Limit=limit,
        )
        return [ticket_from(from_item(item)) for item in resp.get("Items", [])]

    def wait_samples(self, queue: str, region: str) -> list[WaitSample]:
        """The ring of recent match waits for a queue and region (one Query, bounded)."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=values({":pk": f"WAITS#{_queue_key(queue, region)}"}),
            Limit=WAIT_SLOTS,
        )
        samples = (from_item(item) for item in resp.get("Items", []))
        return [WaitSample(wait=float(s["wait"]), at=float(s["at"])) for s in samples]

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

    def recent_matches(self, since: float, now: float, limit: int) -> list[Match]:
        """Matches created in [since, now], newest first, at most `limit` per hour and shard."""
        found: list[Match] = []
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
                found.extend(match_from(from_item(raw)) for raw in resp.get("Items", []))
        found.sort(key=lambda m: m.created_at, reverse=True)
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

    def create_ticket(self, ticket: Ticket, *, replaces: str | None) -> None:
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
                self._pointer_put(ticket.leader, ticket.ticket_id, replaces, ticket.expires_at),
            ]
        )

    def put_tickets(self, tickets: list[Ticket]) -> None:
        """Bulk-load tickets without pointers (benchmarks and fixtures), 25 per request."""
        requests = [{"PutRequest": {"Item": to_item(_ticket_item(t))}} for t in tickets]
        for start in range(0, len(requests), 25):
            batch_write(self.client, self.table, requests[start : start + 25])

    def join_ticket(
        self,
        ticket: Ticket,
        *,
        player_id: str,
        skill: float,
        search_skill: float | None,
        replaces: str | None,
        now: float,
    ) -> None:
        """Add a member to a forming ticket (as read: `ticket`) and point their active pointer at it.

        The number that had joined when it was read makes concurrent joins serialize;
        `search_skill` (the party's skill, when this member completes it) turns the ticket to
        searching from `now`, into the waiting index.
        """
        ticket_id, joined_before, expires_at = ticket.ticket_id, len(ticket.joined), ticket.expires_at
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
        if search_skill is not None:
            names.update({"#skill": "skill", "#w": "WPK"})
            vals.update(
                {
                    ":searching": "searching",
                    ":skill": search_skill,
                    ":since": now,
                    ":wpk": _queue_key(ticket.queue, ticket.region),
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
    ) -> Ticket | None:
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
            return ticket_from(from_item(resp.get("Attributes")))
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise

    def claim(self, tickets: list[Ticket], match: Match, sample: WaitSample, now: float) -> None:
        """Claim every ticket of a match and write the match, in ONE transaction.

        Each ticket must still be searching and not past its timeout. Raises ClaimLost
        naming the tickets that failed their condition.
        """
        slot = int(match.match_id[:4], 16) % WAIT_SLOTS
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _ticket_key(t.ticket_id),
                    "UpdateExpression": "SET #st = :matched, match_id = :mid, matched_at = :now REMOVE WPK, XPK",
                    "ConditionExpression": "#st = :searching AND timeout_at > :now",
                    "ExpressionAttributeNames": {"#st": "status"},
                    "ExpressionAttributeValues": values(
                        {":matched": "matched", ":searching": "searching", ":mid": match.match_id, ":now": now}
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
                            "PK": f"MATCH#{match.match_id}",
                            "SK": "MATCH",
                            "RPK": recent_pk(int(match.created_at // 3600), slot % RECENT_SHARDS),
                            **_plain(match),
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
                        {"PK": f"WAITS#{_queue_key(match.queue, match.region)}", "SK": f"{slot:02d}", **_plain(sample)}
                    ),
                }
            }
        )
        try:
            self.client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            cancelled = cancellation(exc)
            if cancelled is None or cancelled.throttled:
                raise
            lost = {tickets[i].ticket_id for i in cancelled.failed_indexes(with_conflicts=True) if i < len(tickets)}
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
            if cancellation(exc) is not None:
                raise ConditionFailed(reasons=["TransactionConflict"]) from exc
            raise


def _ticket_item(ticket: Ticket) -> dict[str, Any]:
    item = {"PK": _player_pk(ticket.leader), "SK": f"TICKET#{ticket.ticket_id}", **_plain(ticket)}
    key = _queue_key(ticket.queue, ticket.region)
    if ticket.status in ("forming", "searching"):
        item["XPK"] = key
    if ticket.status == "searching":
        item["WPK"] = key
    return item
