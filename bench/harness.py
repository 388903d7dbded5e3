"""Count AWS requests and DynamoDB items read with botocore event hooks.

    with count_requests(client) as counted:
        client.query(...)
    counted.requests["Query"], counted.items_read

`target` is a boto3/botocore client, or a boto3/botocore session: a session passes its
hooks to the clients created from it *afterwards*. Requests are API calls (one per
boto3 call, whatever the retries); items read are what DynamoDB reads to answer:
`ScannedCount` for Query and Scan (filtered-out items were read too), 1 for a GetItem
that found its item, the items returned by BatchGetItem and TransactGetItems.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_ids = itertools.count()


@dataclass(frozen=True)
class Figure:
    """One benchmark result, printed as `<name> <value> <unit>`."""

    name: str
    value: float
    unit: str

    def line(self) -> str:
        value = round(self.value, 3) if isinstance(self.value, float) else self.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return f"{self.name} {value} {self.unit}"


@dataclass
class RequestCounter:
    requests: Counter[str] = field(default_factory=Counter)
    items_read_by_operation: Counter[str] = field(default_factory=Counter)
    capacity_by_operation: dict[str, float] = field(default_factory=dict)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def items_read(self) -> int:
        return sum(self.items_read_by_operation.values())

    @property
    def consumed_capacity(self) -> float:
        return float(sum(self.capacity_by_operation.values()))

    def reset(self) -> None:
        self.requests.clear()
        self.items_read_by_operation.clear()
        self.capacity_by_operation.clear()

    # botocore handlers -----------------------------------------------------------

    def before_call(self, model: Any, **_: Any) -> None:
        self.requests[model.name] += 1

    def after_call(
        self, model: Any, parsed: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if not parsed:
            return
        items = items_read(model.name, parsed)
        if items:
            self.items_read_by_operation[model.name] += items
        capacity = consumed_capacity(parsed)
        if capacity:
            previous = self.capacity_by_operation.get(model.name, 0.0)
            self.capacity_by_operation[model.name] = previous + capacity


def items_read(operation: str, parsed: dict[str, Any]) -> int:
    if operation in ("Query", "Scan"):
        return int(parsed.get("ScannedCount", parsed.get("Count", 0)))
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in parsed.get("Responses", {}).values())
    if operation == "TransactGetItems":
        return sum(
            1 for response in parsed.get("Responses", []) if response.get("Item")
        )
    return 0


def consumed_capacity(parsed: dict[str, Any]) -> float:
    consumed = parsed.get("ConsumedCapacity")
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(c.get("CapacityUnits", 0) for c in consumed or []))


def _events(target: Any) -> Any:
    meta = getattr(target, "meta", None)
    if meta is not None and hasattr(meta, "events"):
        return meta.events  # a client
    if hasattr(target, "events"):
        return target.events  # a boto3 Session
    if hasattr(target, "get_component"):
        return target.get_component("event_emitter")  # a botocore Session
    raise TypeError(f"cannot attach a request counter to {target!r}")


@contextmanager
def count_requests(*targets: Any) -> Iterator[RequestCounter]:
    """Count the requests made through `targets` (clients or sessions) in the block."""
    counter = RequestCounter()
    unique = f"bench-counter-{next(_ids)}"
    emitters = [_events(t) for t in targets]
    for events in emitters:
        events.register(
            "before-call", counter.before_call, unique_id=f"{unique}-before"
        )
        events.register("after-call", counter.after_call, unique_id=f"{unique}-after")
    try:
        yield counter
    finally:
        for events in emitters:
            events.unregister("before-call", unique_id=f"{unique}-before")
            events.unregister("after-call", unique_id=f"{unique}-after")
