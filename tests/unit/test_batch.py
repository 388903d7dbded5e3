"""Batch reads and writes send again what DynamoDB left unprocessed, within a bound."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import Throttled
from chalicelib.storage.batch import batch_get, batch_get_items, batch_write


def _key(n: int) -> dict[str, Any]:
    return {"PK": {"S": f"k{n}"}, "SK": {"S": "s"}}


class Stingy:
    """A client that serves at most `per_call` keys or writes a call and leaves the rest
    unprocessed, `stall` times in a row serving nothing at all."""

    def __init__(self, per_call: int, stall: int = 0) -> None:
        self.per_call = per_call
        self.stall = stall
        self.get_calls: list[int] = []
        self.written: list[dict[str, Any]] = []
        self.write_calls: list[int] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = [(table, key) for table, spec in RequestItems.items() for key in spec["Keys"]]
        self.get_calls.append(len(keys))
        served = [] if self.stall > 0 else keys[: self.per_call]
        self.stall -= 1
        left = keys[len(served) :]
        responses: dict[str, list[Any]] = {}
        for table, key in served:
            responses.setdefault(table, []).append({**key, "n": {"N": "1"}})
        unprocessed: dict[str, Any] = {}
        for table, key in left:
            unprocessed.setdefault(table, {**RequestItems[table], "Keys": []})["Keys"].append(key)
        return {"Responses": responses, "UnprocessedKeys": unprocessed}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.write_calls.append(len(requests))
        served = [] if self.stall > 0 else requests[: self.per_call]
        self.stall -= 1
        self.written.extend(served)
        left = requests[len(served) :]
        return {"UnprocessedItems": {table: left} if left else {}}


def test_unprocessed_keys_are_asked_again_until_all_are_read() -> None:
    client = Stingy(per_call=30)
    pauses: list[float] = []
    got = batch_get(client, {"t": {"Keys": [_key(n) for n in range(100)]}}, sleep=pauses.append)  # type: ignore[arg-type]
    assert sorted(item["PK"] for _, item in got) == sorted(f"k{n}" for n in range(100))
    assert client.get_calls == [100, 70, 40, 10]
    assert len(pauses) == 3 and all(0 <= p <= 1.0 for p in pauses)


def test_keys_over_two_tables_come_back_with_their_table() -> None:
    client = Stingy(per_call=3)
    request = {"a": {"Keys": [_key(1), _key(2)]}, "b": {"Keys": [_key(3), _key(4)]}, "empty": {"Keys": []}}
    got = batch_get(client, request, sleep=lambda _: None)  # type: ignore[arg-type]
    assert sorted((table, item["PK"]) for table, item in got) == [("a", "k1"), ("a", "k2"), ("b", "k3"), ("b", "k4")]


def test_keys_never_read_raise_throttled_or_the_callers_error() -> None:
    with pytest.raises(Throttled):
        batch_get(Stingy(per_call=1, stall=99), {"t": {"Keys": [_key(1)]}}, attempts=3, sleep=lambda _: None)  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="busy"):
        batch_get(
            Stingy(per_call=1, stall=99),  # type: ignore[arg-type]
            {"t": {"Keys": [_key(1)]}},
            attempts=3,
            sleep=lambda _: None,
            exhausted=lambda: LookupError("busy"),
        )


def test_a_partial_read_is_returned_when_asked_for() -> None:
    client = Stingy(per_call=1, stall=0)
    got = batch_get(
        client, {"t": {"Keys": [_key(n) for n in range(5)]}}, attempts=2, sleep=lambda _: None, allow_partial=True
    )  # type: ignore[arg-type]
    assert [item["PK"] for _, item in got] == ["k0", "k1"]


def test_many_keys_are_read_in_requests_of_a_hundred_with_the_read_options() -> None:
    seen: list[dict[str, Any]] = []

    class Recording(Stingy):
        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            seen.append({k: v for k, v in RequestItems["t"].items() if k != "Keys"})
            return super().batch_get_item(RequestItems)

    client = Recording(per_call=100)
    items = batch_get_items(client, "t", [_key(n) for n in range(250)], consistent=True, projection="PK")  # type: ignore[arg-type]
    assert len(items) == 250 and items[0] == {"PK": "k0", "SK": "s", "n": 1}
    assert client.get_calls == [100, 100, 50]
    assert seen == [{"ConsistentRead": True, "ProjectionExpression": "PK"}] * 3


def test_writes_are_sent_in_requests_of_25_until_none_is_left() -> None:
    client = Stingy(per_call=10)
    requests = [{"PutRequest": {"Item": _key(n)}} for n in range(30)]
    batch_write(client, "t", requests, sleep=lambda _: None)  # type: ignore[arg-type]
    assert client.written == requests
    assert client.write_calls == [25, 15, 5, 5]


def test_writes_never_done_raise_throttled() -> None:
    with pytest.raises(Throttled, match="1 writes were not processed"):
        batch_write(
            Stingy(per_call=1, stall=99), "t", [{"PutRequest": {"Item": _key(1)}}], attempts=2, sleep=lambda _: None
        )  # type: ignore[arg-type]
