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

from bench.units import UnitMeter

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


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


@dataclass
class RequestCounter:
    requests: Counter[str] = field(default_factory=Counter)
    items_read_by_operation: Counter[str] = field(default_factory=Counter)
    capacity_by_operation: dict[str, float] = field(default_factory=dict)
    units: UnitMeter | None = None

    @property
    def read_units(self) -> float:
        return self.units.read_units if self.units else 0.0

    @property
    def write_units(self) -> float:
        return self.units.write_units if self.units else 0.0

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

    def before_parameters(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.units is not None and model.service_model.service_name == "dynamodb":
            context["bench_params"] = params

    def before_call(self, model: Any, context: dict[str, Any] | None = None, **_: Any) -> None:
        self.requests[model.name] += 1
        params = (context or {}).get("bench_params")
        if self.units is not None and params is not None and model.name in WRITES:
            assert context is not None
            context["bench_before"] = self.units.before_write(model.name, params)

    def after_call(
        self, model: Any, parsed: dict[str, Any] | None = None, context: dict[str, Any] | None = None, **_: Any
    ) -> None:
        params = (context or {}).get("bench_params")
        if self.units is not None and params is not None and parsed is not None:
            failed = "Error" in parsed
            if model.name in WRITES:
                self.units.after_write((context or {}).get("bench_before", []), failed)
            elif not failed:
                self.units.read(model.name, params, parsed)
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
        return sum(1 for response in parsed.get("Responses", []) if response.get("Item"))
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
def count_requests(*targets: Any, peek: Any = None) -> Iterator[RequestCounter]:
    """Count the requests made through `targets` (clients or sessions) in the block; with
    `peek` (an unhooked DynamoDB client on the same store), DynamoDB read and write units
    too (see bench.units)."""
    counter = RequestCounter(units=UnitMeter(peek) if peek is not None else None)
    unique = f"bench-counter-{next(_ids)}"
    emitters = [_events(t) for t in targets]
    for events in emitters:
        events.register("before-parameter-build", counter.before_parameters, unique_id=f"{unique}-params")
        events.register("before-call", counter.before_call, unique_id=f"{unique}-before")
        events.register("after-call", counter.after_call, unique_id=f"{unique}-after")
    try:
        yield counter
    finally:
        for events in emitters:
            events.unregister("before-parameter-build", unique_id=f"{unique}-params")
            events.unregister("before-call", unique_id=f"{unique}-before")
            events.unregister("after-call", unique_id=f"{unique}-after")
