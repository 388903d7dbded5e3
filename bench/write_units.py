"""Write units as DynamoDB bills them, counted from the requests a client sends.

moto answers no size-based `ConsumedCapacity` (none at all for transactions), so the units
are computed from each written item with DynamoDB's published rules: an item's size is
its attribute names plus values (strings in UTF-8 bytes, numbers about one byte per two
significant digits plus one, maps and lists 3 bytes plus one a member); a standard write
costs one unit per started KB, a transactional write two; an update is billed on the
larger of the item before and after (here: after, since counters only grow, read back
through a second, uncounted client). A cancelled transaction is counted at its full
price (an upper bound).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_ids = itertools.count()
KB = 1024


def value_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: x}) for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(value_size(x) + 1 for x in v)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def units(size: int, transactional: bool) -> int:
    return max(1, math.ceil(size / KB)) * (2 if transactional else 1)


@dataclass
class WriteUnits:
    lookup: Any  # a client on the same store, not counted: reads items back after updates
    units: int = 0
    cancelled_requests: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    _pending: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _add(self, operation: str, n: int) -> None:
        self.units += n
        self.by_operation[operation] = self.by_operation.get(operation, 0) + n

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self._pending.append((model.name, copy.deepcopy(params)))

    def after_call(self, model: Any, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        name, params = self._pending.pop()
        failed = bool((parsed or {}).get("Error"))
        if name == "TransactWriteItems":
            if failed:
                self.cancelled_requests += 1
            for action in params["TransactItems"]:
                ((kind, spec),) = action.items()
                if kind == "Put":
                    self._add(name, units(item_size(spec["Item"]), True))
                elif kind in ("Update", "Delete", "ConditionCheck"):
                    self._add(name, units(self._stored_size(spec), True))
        elif name == "BatchWriteItem" and not failed:
            unprocessed = (parsed or {}).get("UnprocessedItems", {})
            for table, requests in params["RequestItems"].items():
                left = len(unprocessed.get(table, []))
                done = requests[: len(requests) - left]
                for request in done:
                    if "PutRequest" in request:
                        self._add(name, units(item_size(request["PutRequest"]["Item"]), False))
                    else:
                        self._add(name, 1)
        elif name == "PutItem":
            self._add(name, units(item_size(params["Item"]), False))
        elif name in ("UpdateItem", "DeleteItem"):
            self._add(name, units(self._stored_size(params), False))

    def _stored_size(self, spec: dict[str, Any]) -> int:
        item = self.lookup.get_item(TableName=spec["TableName"], Key=spec["Key"], ConsistentRead=True).get("Item")
        return item_size(item) if item else 1


@contextmanager
def count_write_units(client: Any, lookup: Any) -> Iterator[WriteUnits]:
    """Write units of the writes sent through `client` in the block."""
    counter = WriteUnits(lookup=lookup)
    unique = f"write-units-{next(_ids)}"
    events = client.meta.events
    events.register("before-parameter-build.dynamodb", counter.before_call, unique_id=f"{unique}-before")
    events.register("after-call.dynamodb", counter.after_call, unique_id=f"{unique}-after")
    try:
        yield counter
    finally:
        events.unregister("before-parameter-build.dynamodb", unique_id=f"{unique}-before")
        events.unregister("after-call.dynamodb", unique_id=f"{unique}-after")
