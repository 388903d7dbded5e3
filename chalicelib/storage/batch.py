"""Batch reads and writes carried to the end: what DynamoDB leaves unprocessed is sent again.

`BatchGetItem` and `BatchWriteItem` may answer with part of the work left over
(`UnprocessedKeys`, `UnprocessedItems`) when a partition is busy; botocore does not
resend it. These send the leftover again after a jittered pause, a bounded number of
times, and raise (`Throttled` unless told otherwise) if some is never done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.errors import Throttled
from chalicelib.storage.items import from_item
from chalicelib.storage.retry import backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_MAX = 100
BATCH_WRITE_MAX = 25
ATTEMPTS = 8
Sleep = Callable[[float], None]


def _busy(what: str) -> Callable[[], BaseException]:
    return lambda: Throttled(f"{what} could not be read, retry shortly")


def batch_get(
    client: DynamoDBClient,
    request: dict[str, Any],
    *,
    attempts: int = ATTEMPTS,
    sleep: Sleep = time.sleep,
    exhausted: Callable[[], BaseException] | None = None,
    allow_partial: bool = False,
) -> list[tuple[str, dict[str, Any]]]:
    """Every item of one `BatchGetItem` request (at most 100 keys over its tables), as
    (table, plain item) pairs in no particular order. `allow_partial`: what was read when
    the attempts run out, rather than an error."""
    found: list[tuple[str, dict[str, Any]]] = []
    pending = {table: spec for table, spec in request.items() if spec.get("Keys")}
    for attempt in range(attempts):
        if not pending:
            return found
        if attempt:
            sleep(backoff(attempt, base=0.05, cap=1.0))
        resp = client.batch_get_item(RequestItems=pending)
        for table, raws in resp.get("Responses", {}).items():
            found.extend((table, from_item(raw)) for raw in raws)
        pending = resp.get("UnprocessedKeys") or {}  # type: ignore[assignment]
    if not pending or allow_partial:
        return found
    raise (exhausted or _busy("the items"))()


def batch_get_items(
    client: DynamoDBClient,
    table: str,
    keys: list[dict[str, Any]],
    *,
    consistent: bool = False,
    projection: str | None = None,
    attempts: int = ATTEMPTS,
    sleep: Sleep = time.sleep,
    exhausted: Callable[[], BaseException] | None = None,
) -> list[dict[str, Any]]:
    """Every item of `keys` in one table, in requests of 100 keys."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_MAX):
        spec: dict[str, Any] = {"Keys": keys[start : start + BATCH_GET_MAX]}
        if consistent:
            spec["ConsistentRead"] = True
        if projection:
            spec["ProjectionExpression"] = projection
        got = batch_get(client, {table: spec}, attempts=attempts, sleep=sleep, exhausted=exhausted)
        found.extend(item for _, item in got)
    return found


def batch_write(
    client: DynamoDBClient,
    table: str,
    requests: list[dict[str, Any]],
    *,
    attempts: int = ATTEMPTS,
    sleep: Sleep = time.sleep,
) -> None:
    """Every put or delete request of one table, in requests of 25."""
    for start in range(0, len(requests), BATCH_WRITE_MAX):
        pending = requests[start : start + BATCH_WRITE_MAX]
        for attempt in range(attempts):
            if attempt:
                sleep(backoff(attempt, base=0.05, cap=1.0))
            resp = client.batch_write_item(RequestItems={table: pending})  # type: ignore[dict-item]
            pending = (resp.get("UnprocessedItems") or {}).get(table, [])  # type: ignore[assignment]
            if not pending:
                break
        if pending:
            raise Throttled(f"{len(pending)} writes were not processed, retry shortly")
