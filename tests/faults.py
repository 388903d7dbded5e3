"""Fault injection through botocore's event hooks: throttle chosen operations.

`throttle(client, "UpdateItem", times=1)` makes the next call(s) of that operation answer
a throttling error *before* anything is sent, as DynamoDB does under load; botocore's own
`standard` retries then run as they would in production. `times=None` throttles forever.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse


class _Headers(dict):  # botocore reads headers case-insensitively through this mapping
    pass


class Throttle:
    def __init__(self, operations: set[str], times: int | None, code: str) -> None:
        self.operations = operations
        self.remaining = times
        self.code = code
        self.injected = 0

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target)
        operation = target.rsplit(".", 1)[-1]
        if operation not in self.operations:
            return None
        if self.remaining is not None:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
        self.injected += 1
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}", "message": "injected"}).encode()
        return AWSResponse(request.url, 400, _Headers({"x-amzn-requestid": "injected"}), _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.body

    def read(self) -> bytes:
        return self.body


@contextlib.contextmanager
def throttle(
    client: Any, *operations: str, times: int | None = 1, code: str = "ProvisionedThroughputExceededException"
) -> Iterator[Throttle]:
    """Throttle `operations` of a DynamoDB client for the `with` block."""
    hook = Throttle(set(operations), times, code)
    client.meta.events.register_first("before-send.dynamodb", hook, unique_id=f"throttle-{id(hook)}")
    try:
        yield hook
    finally:
        client.meta.events.unregister("before-send.dynamodb", unique_id=f"throttle-{id(hook)}")


@contextlib.contextmanager
def fast_retries() -> Iterator[None]:
    """Make botocore's retry backoff instant, so persistent-fault tests stay quick."""
    from unittest import mock

    with mock.patch("botocore.retries.standard.ExponentialBackoff.delay_amount", return_value=0):
        yield
