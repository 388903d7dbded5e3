"""Time, in one place, so services take a clock and tests can pass their own."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]


def system_clock() -> float:
    return time.time()


def iso(ts: float) -> str:
    """An ISO-8601 UTC timestamp with milliseconds: sortable as text."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"
