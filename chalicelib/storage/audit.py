"""Audit table: every admin write, append-only.

Keys (known only here):
  entry   PK=AUDIT#<YYYY-MM>  SK=<iso time>#<random>   (one partition per month, newest last)
          TPK=T#<target>      (index `by_target`: one target's entries, same sort key)

Entries are only ever put with `attribute_not_exists`: nothing in the app updates or deletes one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.clock import iso
from chalicelib.storage.base import TableRepository
from chalicelib.storage.items import from_item, to_item, values


@dataclass(frozen=True)
class AuditEntry:
    """One admin write as the log records it: who, what, about whom, why, with what answer."""

    actor: str
    actor_id: str
    action: str
    method: str
    path: str
    target: str
    details: str  # the request body as JSON, clipped
    status: int
    params: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class StoredAuditEntry:
    """An entry as stored: its id (which also places it in the log) and when it was written."""

    id: str
    at: str
    entry: AuditEntry


def month_of(at: str) -> str:
    return at[:7]


def previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


class AuditRepository(TableRepository):
    """Every read and write of the audit table."""

    table_key = "audit"

    def append(self, entry: AuditEntry, now: float) -> StoredAuditEntry:
        """Store one entry under a new, unique key; returns it with its id and time."""
        at = iso(now)
        sk = f"{at}#{secrets.token_hex(4)}"
        stored = StoredAuditEntry(id=f"{month_of(at)}|{sk}", at=at, entry=entry)
        item: dict[str, Any] = {"PK": f"AUDIT#{month_of(at)}", "SK": sk, **_fields(stored)}
        if entry.target:
            item["TPK"] = f"T#{entry.target}"
        self.client.put_item(TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)")
        return stored

    @staticmethod
    def position(stored: StoredAuditEntry) -> str:
        """Where an entry sits in its month, as `month_page` and `target_page` take `before`."""
        return stored.id.split("|", 1)[1]

    def month_page(self, month: str, before: str | None, limit: int) -> list[StoredAuditEntry]:
        """Up to `limit` entries of one month, newest first, older than the sort key `before`."""
        cond = "PK = :pk" + (" AND SK < :before" if before else "")
        vals: dict[str, Any] = {":pk": f"AUDIT#{month}"}
        if before:
            vals[":before"] = before
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression=cond,
            ExpressionAttributeValues=values(vals),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_entry(raw) for raw in resp.get("Items", [])]

    def target_page(self, target: str, before: str | None, limit: int) -> list[StoredAuditEntry]:
        """Up to `limit` entries about one target, newest first, older than the sort key `before`."""
        cond = "TPK = :t" + (" AND SK < :before" if before else "")
        vals: dict[str, Any] = {":t": f"T#{target}"}
        if before:
            vals[":before"] = before
        resp = self.client.query(
            TableName=self.table,
            IndexName="by_target",
            KeyConditionExpression=cond,
            ExpressionAttributeValues=values(vals),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_entry(raw) for raw in resp.get("Items", [])]


def _fields(stored: StoredAuditEntry) -> dict[str, Any]:
    return {**asdict(stored.entry), "id": stored.id, "at": stored.at}


def _entry(raw: dict[str, Any]) -> StoredAuditEntry:
    item = from_item(raw)
    return StoredAuditEntry(
        id=str(item["id"]),
        at=str(item["at"]),
        entry=AuditEntry(
            actor=str(item.get("actor", "")),
            actor_id=str(item.get("actor_id", "")),
            action=str(item.get("action", "")),
            method=str(item.get("method", "")),
            path=str(item.get("path", "")),
            target=str(item.get("target", "")),
            details=str(item.get("details", "")),
            status=int(item.get("status", 0)),
            params={str(k): str(v) for k, v in (item.get("params") or {}).items()},
            reason=item.get("reason"),
        ),
    )
