"""Leaderboards table: entries, the score index, rank counters and archived periods.

Items (PK / SK):
- entry    `E#<player>` / `<board>#<period>`; on the `by_score` index under
  `B#<board>#<period>#<index shard>` / `<order key:16>#<reached ms:13>#<player>`, so the
  index reads best first (lower order key, then earlier, then player id).
- counter  `C#<board>#<period>#<level>#<prefix>#<shard>` / `N`: a node of a 256-ary tree
  over the order key; attribute `c<d>` counts the entries whose key continues with digit d.
  A write ADDs to one random shard of each node on its path, in the entry's transaction.
- period   `B#<board>` / `P#<period>`: the archive of a closed period; `B#<board>` /
  `STATE` remembers the last period the close job reached.
"""

from __future__ import annotations

import random
import re
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from chalicelib.errors import ConditionFailed, Throttled
from chalicelib.game_config.declarations import BoardDef
from chalicelib.storage.base import TableRepository
from chalicelib.storage.batch import batch_get_items
from chalicelib.storage.cancellation import cancellation, condition_failed
from chalicelib.storage.items import from_item, to_item, values
from chalicelib.storage.retry import retry

INDEX = "by_score"
LEVEL_BITS = 8
FANOUT = 1 << LEVEL_BITS
KEY_DIGITS = 16
TIME_DIGITS = 13
COUNTER_SK = "N"
STATE_SK = "STATE"
_PAGE_POSITION = re.compile(rf"^\d{{{KEY_DIGITS}}}#\d{{{TIME_DIGITS}}}#[\w\-:.@]{{1,128}}$")
T = TypeVar("T")
R = TypeVar("R")


class _CounterBusy(Exception):
    """A transaction lost to another one holding a counter node."""


class _GaveUp(Exception):
    """Every attempt lost a race."""


@dataclass(frozen=True)
class Layout:
    """How one board period is laid out in the table: key scale, tree depth, shards."""

    board_id: str
    period: str
    order: str
    min: float
    decimals: int
    span: int  # largest order key
    levels: int
    counter_shards: int
    index_shards: int

    @classmethod
    def of(cls, board_id: str, board: BoardDef, period: str) -> Layout:
        scale = 10**board.decimals
        span = round(board.max * scale) - round(board.min * scale)
        levels = max(1, -(-span.bit_length() // LEVEL_BITS))
        return cls(
            board_id,
            period,
            board.order,
            board.min,
            board.decimals,
            span,
            levels,
            board.counter_shards,
            board.index_shards,
        )

    # order keys -------------------------------------------------------------------------

    def scaled(self, score: float) -> int:
        """The score as a whole number of its smallest unit above the minimum."""
        exact = Decimal(repr(score)) * (10**self.decimals)
        low = Decimal(repr(self.min)) * (10**self.decimals)
        return int(exact.to_integral_value()) - int(low.to_integral_value())

    def order_key(self, score: float) -> int:
        """Lower is better: ascending boards keep the scaled score, descending invert it."""
        scaled = self.scaled(score)
        return scaled if self.order == "asc" else self.span - scaled

    def path(self, key: int) -> list[tuple[tuple[int, int], int]]:
        """((level, node prefix), digit) from the root down to the key's own leaf slot."""
        out = []
        for level in range(self.levels):
            shift = LEVEL_BITS * (self.levels - level)
            digit = (key >> (shift - LEVEL_BITS)) & (FANOUT - 1)
            out.append(((level, key >> shift), digit))
        return out

    # keys ---------------------------------------------------------------------------------

    @property
    def slot(self) -> str:
        return f"{self.board_id}#{self.period}"

    def index_pk(self, shard: int) -> str:
        return f"B#{self.slot}#{shard}"

    def index_shard(self, player_id: str) -> int:
        return zlib.crc32(player_id.encode()) % self.index_shards

    def counter_pk(self, level: int, prefix: int, shard: int) -> str:
        return f"C#{self.slot}#{level}#{prefix}#{shard}"


def entry_pk(player_id: str) -> str:
    return f"E#{player_id}"


def sort_key(key: int, reached_ms: int, player_id: str) -> str:
    return f"{key:0{KEY_DIGITS}d}#{reached_ms:0{TIME_DIGITS}d}#{player_id}"


@dataclass(frozen=True)
class Entry:
    """One player's standing on one board period."""

    player_id: str
    score: float
    key: int
    reached_ms: int
    version: int
    updated_at: str

    @property
    def sort_key(self) -> str:
        return sort_key(self.key, self.reached_ms, self.player_id)


def entry_item(layout: Layout, entry: Entry) -> dict[str, Any]:
    """The stored entry (plain values)."""
    return {
        "PK": entry_pk(entry.player_id),
        "SK": layout.slot,
        "board": layout.board_id,
        "period": layout.period,
        "player_id": entry.player_id,
        "score": entry.score,
        "key": entry.key,
        "t": entry.reached_ms,
        "v": entry.version,
        "updated_at": entry.updated_at,
        "GSI1PK": layout.index_pk(layout.index_shard(entry.player_id)),
        "GSI1SK": entry.sort_key,
    }


def entry_from(item: dict[str, Any]) -> Entry:
    return Entry(
        player_id=item["player_id"],
        score=item["score"],
        key=int(item["key"]),
        reached_ms=int(item["t"]),
        version=int(item["v"]),
        updated_at=item.get("updated_at", ""),
    )


@dataclass(frozen=True)
class Standing:
    """One player's final place in a closed period."""

    rank: int
    player_id: str
    score: float
    reached_ms: int


@dataclass(frozen=True)
class ArchivedPeriod:
    """A closed period of a board: its bounds, when it was closed, its final top standings."""

    board: str
    period: str
    status: str = "closed"
    started_at: str | None = None
    ended_at: str | None = None
    closed_at: str | None = None
    total_entries: int = 0
    top: tuple[Standing, ...] = ()


def _period_key(board_id: str, period: str) -> dict[str, Any]:
    return to_item({"PK": f"B#{board_id}", "SK": f"P#{period}"})


def _standing_item(standing: Standing) -> dict[str, Any]:
    return {"rank": standing.rank, "player_id": standing.player_id, "score": standing.score, "t": standing.reached_ms}


def _archived(item: dict[str, Any]) -> ArchivedPeriod:
    return ArchivedPeriod(
        board=str(item["board"]),
        period=str(item["period"]),
        status=str(item.get("status", "closed")),
        started_at=item.get("started_at"),
        ended_at=item.get("ended_at"),
        closed_at=item.get("closed_at"),
        total_entries=item.get("total_entries", 0),
        top=tuple(
            Standing(rank=t["rank"], player_id=t["player_id"], score=t["score"], reached_ms=t["t"])
            for t in item.get("top", [])
        ),
    )


def counter_deltas(layout: Layout, old_key: int | None, new_key: int | None) -> dict[tuple[int, int], dict[int, int]]:
    """Per tree node, the change of each child count when an entry moves old -> new."""
    deltas: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for key, sign in ((old_key, -1), (new_key, 1)):
        if key is None:
            continue
        for node, digit in layout.path(key):
            deltas[node][digit] += sign
    return {node: {d: n for d, n in digits.items() if n} for node, digits in deltas.items() if any(digits.values())}


@dataclass
class Counts:
    """Counter nodes read for some keys, summed over shards."""

    layout: Layout
    nodes: dict[tuple[int, int], list[int]]

    def child(self, node: tuple[int, int]) -> list[int]:
        return self.nodes.get(node) or [0] * FANOUT

    def ahead(self, key: int) -> int:
        """Entries with a strictly better order key."""
        return sum(sum(self.child(node)[:digit]) for node, digit in self.layout.path(key))

    def at(self, key: int) -> int:
        """Entries with exactly this order key."""
        node, digit = self.layout.path(key)[-1]
        return self.child(node)[digit]

    @property
    def total(self) -> int:
        return sum(self.child((0, 0)))


def _parallel(fn: Callable[[T], R], args: Sequence[T]) -> list[R]:
    if len(args) <= 1:
        return [fn(a) for a in args]
    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        return list(pool.map(fn, args))


class LeaderboardsRepository(TableRepository):
    """Every read and write of the leaderboards table."""

    table_key = "leaderboards"

    # entries ----------------------------------------------------------------------------

    def get_entry(self, layout: Layout, player_id: str) -> Entry | None:
        resp = self.client.get_item(
            TableName=self.table,
            Key=to_item({"PK": entry_pk(player_id), "SK": layout.slot}),
            ConsistentRead=True,
        )
        item = from_item(resp.get("Item"))
        return entry_from(item) if item else None

    def get_entries(self, layout: Layout, player_ids: Iterable[str]) -> dict[str, Entry]:
        keys = [to_item({"PK": entry_pk(p), "SK": layout.slot}) for p in dict.fromkeys(player_ids)]
        return {e.player_id: e for e in map(entry_from, self._batch_get(keys))}

    def write_entry(self, layout: Layout, old: Entry | None, new: Entry | None) -> None:
        """Replace `old` by `new` (either may be None) with the counters, in one transaction.

        Raises ConditionFailed when the stored entry is no longer `old`.
        """
        self._transact(self.entry_ops(layout, old, new))

    def entry_ops(self, layout: Layout, old: Entry | None, new: Entry | None) -> list[dict[str, Any]]:
        """The transaction operations replacing `old` by `new`: the entry (first, conditioned
        on still being `old`) and its counter updates."""
        key_of = {"PK": entry_pk((new or old).player_id), "SK": layout.slot}  # type: ignore[union-attr]
        if old is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
        else:
            cond = {"ConditionExpression": "v = :v", "ExpressionAttributeValues": values({":v": old.version})}
        ops: list[dict[str, Any]] = []
        if new is not None:
            ops.append({"Put": {"TableName": self.table, "Item": to_item(entry_item(layout, new)), **cond}})
        else:
            ops.append({"Delete": {"TableName": self.table, "Key": to_item(key_of), **cond}})
        shard = random.randrange(layout.counter_shards)
        deltas = counter_deltas(layout, old.key if old else None, new.key if new else None)
        for (level, prefix), digits in deltas.items():
            names = {f"#c{d}": f"c{d}" for d in digits}
            vals = {f":c{d}": n for d, n in digits.items()}
            ops.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": to_item({"PK": layout.counter_pk(level, prefix, shard), "SK": COUNTER_SK}),
                        "UpdateExpression": "ADD " + ", ".join(f"#c{d} :c{d}" for d in digits),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values(vals),
                    }
                }
            )
        return ops

    def _transact(self, ops: list[dict[str, Any]], attempts: int = 6) -> None:
        def once(_attempt: int) -> None:
            # One token per attempt: botocore's own retries of a call that timed out after
            # committing repeat it with the same token, so the entry moves once.
            token = uuid.uuid4().hex
            try:
                self.client.transact_write_items(TransactItems=ops, ClientRequestToken=token)  # type: ignore[arg-type]
            except ClientError as exc:
                failed = condition_failed(exc)
                if failed is not None:
                    raise failed from exc
                cancelled = cancellation(exc)
                if cancelled is not None and cancelled.throttled:
                    raise Throttled("the leaderboard is busy, retry shortly") from exc
                if cancelled is not None and cancelled.conflict:
                    # Another write touched the same counter node: back off and retry.
                    raise _CounterBusy from exc
                raise

        retry(
            once,
            attempts=attempts,
            retry_on=(_CounterBusy,),
            exhausted=lambda: Throttled("the leaderboard is busy, retry shortly"),
            cap=1.0,
        )

    def delete_entry_item(self, player_id: str, board_id: str, period: str) -> None:
        """Delete an entry without touching counters (its board is no longer declared)."""
        self.client.delete_item(
            TableName=self.table, Key=to_item({"PK": entry_pk(player_id), "SK": f"{board_id}#{period}"})
        )

    def player_entries(self, player_id: str) -> list[tuple[str, str, Entry]]:
        """Every (board, period, entry) of one player: one partition, paged Queries."""
        out: list[tuple[str, str, Entry]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": values({":pk": entry_pk(player_id)}),
            "ConsistentRead": True,
            "Limit": 100,
        }
        while True:
            resp = self.client.query(**kwargs)
            for raw in resp.get("Items", []):
                item = from_item(raw)
                out.append((item["board"], item["period"], entry_from(item)))
            if not resp.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # ranks ------------------------------------------------------------------------------

    def counts(self, layout: Layout, keys: Iterable[int]) -> Counts:
        """The counter nodes on the paths of `keys` (the root always): BatchGetItem."""
        nodes = {(0, 0)}
        for key in keys:
            nodes.update(node for node, _ in layout.path(key))
        wanted = [
            to_item({"PK": layout.counter_pk(level, prefix, shard), "SK": COUNTER_SK})
            for level, prefix in sorted(nodes)
            for shard in range(layout.counter_shards)
        ]
        summed: dict[tuple[int, int], list[int]] = {}
        for item in self._batch_get(wanted):
            _, _, _, level, prefix, _ = item["PK"].rsplit("#", 5)
            child = summed.setdefault((int(level), int(prefix)), [0] * FANOUT)
            for name, count in item.items():
                if name.startswith("c") and name[1:].isdigit():
                    child[int(name[1:])] += int(count)
        return Counts(layout, summed)

    def ranks(self, layout: Layout, entries: Sequence[Entry]) -> tuple[dict[str, int], int]:
        """Exact ranks of `entries` (1 + the entries with a strictly better score; equal
        scores share a rank) and the period's entry count: one BatchGetItem, whatever the
        board's size and however many entries share a score."""
        counts = self.counts(layout, [e.key for e in entries])
        return {e.player_id: 1 + counts.ahead(e.key) for e in entries}, counts.total

    # the score index --------------------------------------------------------------------

    def _index_query(
        self, layout: Layout, shard: int, cond: str, bound: str | None, limit: int, forward: bool
    ) -> tuple[list[Entry], bool]:
        vals: dict[str, Any] = {":pk": layout.index_pk(shard)}
        expr = "GSI1PK = :pk"
        if bound is not None:
            expr += f" AND GSI1SK {cond} :b"
            vals[":b"] = bound
        resp = self.client.query(
            TableName=self.table,
            IndexName=INDEX,
            KeyConditionExpression=expr,
            ExpressionAttributeValues=values(vals),
            ScanIndexForward=forward,
            Limit=limit,
        )
        return [entry_from(from_item(i)) for i in resp.get("Items", [])], bool(resp.get("LastEvaluatedKey"))

    @staticmethod
    def is_page_position(after: Any) -> bool:
        """Whether `after` is a position `page` can start from (an entry's index sort key)."""
        return isinstance(after, str) and _PAGE_POSITION.match(after) is not None

    def page(self, layout: Layout, after: str | None, limit: int) -> tuple[list[Entry], bool]:
        """The best `limit` entries after sort key `after`: one Query per index shard, merged."""
        results = _parallel(
            lambda shard: self._index_query(layout, shard, ">", after, limit, True), list(range(layout.index_shards))
        )
        merged = sorted((e for entries, _ in results for e in entries), key=lambda e: e.sort_key)
        taken = merged[:limit]
        more = len(merged) > limit
        if not more and taken:
            last = taken[-1].sort_key
            more = any(has_more and entries and entries[-1].sort_key <= last for entries, has_more in results)
        return taken, more

    def neighbours(self, layout: Layout, entry: Entry, k: int) -> tuple[list[Entry], list[Entry]]:
        """Up to k entries just ahead of `entry` (nearest first) and k just behind."""
        if k <= 0:
            return [], []
        shards = list(range(layout.index_shards))
        ahead = _parallel(lambda s: self._index_query(layout, s, "<", entry.sort_key, k + 1, False)[0], shards)
        behind = _parallel(lambda s: self._index_query(layout, s, ">", entry.sort_key, k + 1, True)[0], shards)
        # The index lags the table: skip a stale copy of the player's own entry.
        up = sorted((e for es in ahead for e in es if e.player_id != entry.player_id), key=lambda e: e.sort_key)
        down = sorted((e for es in behind for e in es if e.player_id != entry.player_id), key=lambda e: e.sort_key)
        return list(reversed(up[-k:])), down[:k]

    def count_ahead_by_query(self, layout: Layout, entry: Entry) -> int:
        """The baseline a rank must not cost: a COUNT over every entry with a better score
        (benchmarks only)."""
        total = 0
        for shard in range(layout.index_shards):
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": INDEX,
                "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK < :b",
                "ExpressionAttributeValues": values(
                    {":pk": layout.index_pk(shard), ":b": f"{entry.key:0{KEY_DIGITS}d}#"}
                ),
                "Select": "COUNT",
            }
            while True:
                resp = self.client.query(**kwargs)
                total += int(resp.get("Count", 0))
                if not resp.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return total

    # periods ----------------------------------------------------------------------------

    def _period_item(self, board_id: str, period: str) -> dict[str, Any]:
        resp = self.client.get_item(TableName=self.table, Key=_period_key(board_id, period), ConsistentRead=True)
        return from_item(resp.get("Item"))

    def get_period(self, board_id: str, period: str) -> ArchivedPeriod | None:
        item = self._period_item(board_id, period)
        return _archived(item) if item else None

    def create_period(self, archived: ArchivedPeriod) -> bool:
        """Write a period's archive once; False when it already exists."""
        item = {
            "PK": f"B#{archived.board}",
            "SK": f"P#{archived.period}",
            "board": archived.board,
            "period": archived.period,
            "status": archived.status,
            "started_at": archived.started_at,
            "ended_at": archived.ended_at,
            "closed_at": archived.closed_at,
            "total_entries": archived.total_entries,
            "top": [_standing_item(t) for t in archived.top],
            "v": 0,
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)"
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    def list_periods(self, board_id: str, before: str | None, limit: int) -> tuple[list[ArchivedPeriod], str | None]:
        """Archived periods, newest first; the second value is the last period id when more may follow."""
        vals: dict[str, Any] = {":pk": f"B#{board_id}", ":lo": "P#"}
        expr = "PK = :pk AND begins_with(SK, :lo)"
        if before is not None:
            expr = "PK = :pk AND SK BETWEEN :lo AND :hi"
            vals[":hi"] = f"P#{before}"
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression=expr,
            ExpressionAttributeValues=values(vals),
            ScanIndexForward=False,
            Limit=limit + 1,
        )
        records = [_archived(from_item(i)) for i in resp.get("Items", [])]
        records = [r for r in records if r.period != before][:limit]
        more = len(resp.get("Items", [])) > limit or bool(resp.get("LastEvaluatedKey"))
        return records, (records[-1].period if more and records else None)

    def remove_from_period(self, board_id: str, period: str, player_id: str) -> bool:
        """Drop a player from a closed period's standings snapshot (account deletion)."""

        def once(_attempt: int) -> bool:
            record = self._period_item(board_id, period)
            if not record or not any(t["player_id"] == player_id for t in record.get("top", [])):
                return False
            top = [t for t in record["top"] if t["player_id"] != player_id]
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=_period_key(board_id, period),
                    UpdateExpression="SET #top = :top, #v = :v1",
                    ConditionExpression="#v = :v0",
                    ExpressionAttributeNames={"#top": "top", "#v": "v"},
                    ExpressionAttributeValues=values(
                        {":top": top, ":v0": record.get("v", 0), ":v1": record.get("v", 0) + 1}
                    ),
                )
                return True
            except ClientError as exc:
                failed = condition_failed(exc)
                if failed is None:
                    raise
                raise failed from exc

        try:
            return retry(once, attempts=5, retry_on=(ConditionFailed,), exhausted=_GaveUp, first_pause=False)
        except _GaveUp:
            return False

    def last_closed(self, board_id: str) -> str | None:
        resp = self.client.get_item(
            TableName=self.table, Key=to_item({"PK": f"B#{board_id}", "SK": STATE_SK}), ConsistentRead=True
        )
        return from_item(resp.get("Item")).get("last_closed")

    def mark_closed(self, board_id: str, period: str) -> None:
        """Move the close job's marker forward (never back)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"PK": f"B#{board_id}", "SK": STATE_SK}),
                UpdateExpression="SET last_closed = :p",
                ConditionExpression="attribute_not_exists(last_closed) OR last_closed < :p",
                ExpressionAttributeValues=values({":p": period}),
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise

    # helpers ----------------------------------------------------------------------------

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return batch_get_items(
            self.client, self.table, keys, exhausted=lambda: Throttled("the leaderboard store is busy, retry shortly")
        )
