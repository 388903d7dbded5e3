"""DynamoDB read and write units from item sizes, by DynamoDB's published rules.

moto accepts `ReturnConsumedCapacity` but answers a fixed figure per operation (0.5 for
a read, 1 for a write, whatever the item), so the bench computes the units DynamoDB
would bill instead, from the items themselves:

- item size: attribute names plus values (a string its UTF-8 bytes, a number one byte
  per two significant digits plus one, a list or map 3 bytes plus 1 per element);
- reads: 4 KB steps, strongly consistent 1 unit, eventually consistent (and every index
  Query) 0.5; a GetItem or BatchGetItem key rounds up per item and costs at least one
  step even when nothing is found; a Query or Scan sums the items it reads (filtered
  out or only counted too) and rounds up once; TransactGetItems doubles;
- writes: 1 KB steps of the larger of the item before and after; each global secondary
  index the item enters, changes in or leaves costs the projected item's size again
  (a moved index key: a delete and a put); TransactWriteItems doubles the table writes,
  condition checks included (index writes are taken at the standard rate: indexes are
  updated after the transaction, outside it).

Sizes are read with a second, unhooked client (`peek`): the stored item just before and
after each write, and a Query's read items when the answer did not return them.
"""

from __future__ import annotations

import math
import re
import threading
from decimal import Decimal
from typing import Any

READ_STEP = 4096
WRITE_STEP = 1024


def value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind}")


def number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return 1 + math.ceil(significant / 2)


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def steps(size: int, step: int) -> int:
    return max(1, math.ceil(size / step))


class UnitMeter:
    """Read and write units of the DynamoDB calls made through hooked clients."""

    def __init__(self, peek: Any) -> None:
        self.peek = peek
        self.read_units = 0.0
        self.write_units = 0.0
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, Any]] = {}

    # table shapes --------------------------------------------------------------------

    def _table(self, name: str) -> dict[str, Any]:
        shape = self._tables.get(name)
        if shape is None:
            described = self.peek.describe_table(TableName=name)["Table"]
            shape = {
                "keys": [k["AttributeName"] for k in described["KeySchema"]],
                "indexes": {
                    i["IndexName"]: (
                        [k["AttributeName"] for k in i["KeySchema"]],
                        i["Projection"].get("ProjectionType", "ALL"),
                        i["Projection"].get("NonKeyAttributes", []),
                    )
                    for i in described.get("GlobalSecondaryIndexes", [])
                },
            }
            self._tables[name] = shape
        return shape

    def _stored(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        found = self.peek.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return found or None

    def _key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self._table(table)["keys"]}

    # writes --------------------------------------------------------------------------

    def _targets(self, operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], float]]:
        """(table, key, multiplier) of every item a write touches."""
        if operation in ("PutItem",):
            return [(params["TableName"], self._key_of(params["TableName"], params["Item"]), 1.0)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], 1.0)]
        if operation == "BatchWriteItem":
            out = []
            for table, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        out.append((table, self._key_of(table, request["PutRequest"]["Item"]), 1.0))
                    else:
                        out.append((table, request["DeleteRequest"]["Key"], 1.0))
            return out
        if operation == "TransactWriteItems":
            out = []
            for op in params.get("TransactItems", []):
                ((_, body),) = op.items()
                key = body.get("Key") or self._key_of(body["TableName"], body["Item"])
                out.append((body["TableName"], key, 2.0))
            return out
        return []

    def before_write(self, operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], float, Any]]:
        return [(t, k, m, self._stored(t, k)) for t, k, m in self._targets(operation, params)]

    def after_write(self, before: list[tuple[str, dict[str, Any], float, Any]], failed: bool) -> None:
        units = 0.0
        for table, key, multiplier, old in before:
            if failed:  # a refused condition still costs the item's write
                units += multiplier * steps(item_size(old), WRITE_STEP)
                continue
            new = self._stored(table, key)
            units += multiplier * steps(max(item_size(old), item_size(new)), WRITE_STEP)
            units += self._index_writes(table, old, new)
        with self._lock:
            self.write_units += units

    def _index_writes(self, table: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
        total = 0
        base_keys = self._table(table)["keys"]
        for keys, projection, extra in self._table(table)["indexes"].values():
            names = set(keys) | set(base_keys) | (set(extra) if projection == "INCLUDE" else set())
            before = _projected(old, keys, None if projection == "ALL" else names)
            after = _projected(new, keys, None if projection == "ALL" else names)
            if before is None and after is None:
                continue
            if before is None or after is None:
                total += steps(item_size(before or after), WRITE_STEP)
            elif any(before[k] != after[k] for k in keys):
                total += steps(item_size(before), WRITE_STEP) + steps(item_size(after), WRITE_STEP)
            elif before != after:
                total += steps(max(item_size(before), item_size(after)), WRITE_STEP)
        return total

    # reads ---------------------------------------------------------------------------

    def read(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        units = 0.0
        if operation == "GetItem":
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            units = factor * steps(item_size(parsed.get("Item")), READ_STEP)
        elif operation == "BatchGetItem":
            for table, request in params.get("RequestItems", {}).items():
                factor = 1.0 if request.get("ConsistentRead") else 0.5
                found = parsed.get("Responses", {}).get(table, [])
                pending = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                missing = max(0, len(request["Keys"]) - len(found) - pending)
                units += factor * (sum(steps(item_size(i), READ_STEP) for i in found) + missing)
        elif operation == "TransactGetItems":
            units = 2.0 * sum(steps(item_size(r.get("Item")), READ_STEP) for r in parsed.get("Responses", []))
        elif operation in ("Query", "Scan"):
            factor = 1.0 if params.get("ConsistentRead") and not params.get("IndexName") else 0.5
            units = factor * steps(self._read_size(operation, params, parsed), READ_STEP)
        with self._lock:
            self.read_units += units

    def _read_size(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> int:
        scanned = int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        items = parsed.get("Items")
        plain = params.get("Select") in (None, "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES")
        if items is not None and len(items) == scanned and plain and "ProjectionExpression" not in params:
            return sum(item_size(i) for i in items)
        if scanned == 0:
            return 0
        # Read again what the call read, whole: same key condition, start and limit.
        again = {k: v for k, v in params.items() if k not in ("Select", "FilterExpression", "ProjectionExpression")}
        if "ExpressionAttributeNames" in again or "ExpressionAttributeValues" in again:
            again = _used_names_only(again)
        got = getattr(self.peek, "query" if operation == "Query" else "scan")(**again).get("Items", [])
        if not got:
            return 0
        average = sum(item_size(i) for i in got) / len(got)
        return round(average * scanned)


def _projected(item: dict[str, Any] | None, keys: list[str], names: set[str] | None) -> dict[str, Any] | None:
    """The item as an index holds it, or None when it lacks an index key."""
    if not item or any(k not in item for k in keys):
        return None
    return item if names is None else {k: v for k, v in item.items() if k in names}


def _used_names_only(params: dict[str, Any]) -> dict[str, Any]:
    """Drop placeholders only the removed expressions used (DynamoDB refuses unused ones)."""
    text = str(params.get("KeyConditionExpression", ""))
    out = dict(params)
    for field in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        if field in out:
            kept = {k: v for k, v in out[field].items() if re.search(re.escape(k) + r"(?![\w])", text)}
            if kept:
                out[field] = kept
            else:
                out.pop(field)
    return out
