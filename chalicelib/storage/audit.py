"""Audit table: every admin write, append-only.

Keys (known only here):
  entry   PK=AUDIT#<YYYY-MM>  SK=<iso time>#<random>   (one partition per month, newest last)
          TPK=T#<target>      (index `by_target`: one target's entries, same sort key)

Entries are only ever put with `attribute_not_exists`: nothing in the app updates or deletes one.
"""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.clock import iso
from chalicelib.storage.base import TableRepository
from chalicelib.storage.items import from_item, to_item, values

HIDDEN = ("PK", "SK", "TPK")


def month_of(at: str) -> str:
    return at[:7]


def previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


class AuditRepository(TableRepository):
    """Every read and write of the audit table."""

    table_key = "audit"

    def append(self, entry: dict[str, Any], now: float) -> dict[str, Any]:
        """Store one entry under a new, unique key; returns it with its id and time."""
        at = iso(now)
        sk = f"{at}#{secrets.token_hex(4)}"
        record = {**entry, "id": f"{month_of(at)}|{sk}", "at": at}
        item: dict[str, Any] = {"PK": f"AUDIT#{month_of(at)}", "SK": sk, **record}
        if entry.get("target"):
            item["TPK"] = f"T#{entry['target']}"
        self.client.put_item(TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)")
        return record

    def month_page(self, month: str, before: str | None, limit: int) -> list[dict[str, Any]]:
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

    def target_page(self, target: str, before: str | None, limit: int) -> list[dict[str, Any]]:
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


def _entry(raw: dict[str, Any]) -> dict[str, Any]:
    item = from_item(raw)
    return {k: v for k, v in item.items() if k not in HIDDEN}
