"""Retrying a conditional read-modify-write that lost a race: bounded, with jittered backoff.

A write conditioned on what was read fails when another writer got there first; reading
again and retrying a few times is right. Throttling is not a lost race: botocore's
`standard` retries have already retried it by the time it reaches us, so it is never
retried here (that would multiply the load on a store that is shedding it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import ClientError

from chalicelib.errors import Throttled
from chalicelib.storage.errors import is_throttling

T = TypeVar("T")
Sleep = Callable[[float], None]


def backoff(attempt: int, *, base: float = 0.02, cap: float = 0.2) -> float:
    """Full jitter: a random pause up to `base * 2**attempt`, at most `cap` seconds."""
    return random.uniform(0, min(cap, base * 2**attempt))


def _throttling(exc: BaseException) -> bool:
    return isinstance(exc, Throttled) or (isinstance(exc, ClientError) and is_throttling(exc))


def retry(
    attempt: Callable[[int], T],
    *,
    attempts: int,
    retry_on: tuple[type[BaseException], ...] | Callable[[BaseException], bool],
    exhausted: Callable[[], BaseException],
    sleep: Sleep | None = None,
    base: float = 0.02,
    cap: float = 0.2,
    first_pause: bool = True,
) -> T:
    """Call `attempt(n)` for n = 0, 1, ... until it returns; an exception that `retry_on`
    accepts means "lost a race, read again", anything else propagates at once (throttling
    always does). After `attempts` lost races, raise `exhausted()`.

    `first_pause=False` retries the first lost race at once (the other writer has finished;
    re-reading is enough) and pauses only from the second.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    accepts = retry_on if callable(retry_on) and not isinstance(retry_on, tuple) else None
    types = retry_on if isinstance(retry_on, tuple) else ()
    pause = sleep or time.sleep
    last: BaseException | None = None
    for n in range(attempts):
        try:
            return attempt(n)
        except Exception as exc:
            lost = isinstance(exc, types) if accepts is None else accepts(exc)
            if not lost or _throttling(exc):
                raise
            last = exc
        if n + 1 < attempts and (n or first_pause):
            pause(backoff(n, base=base, cap=cap))
    raise exhausted() from last
