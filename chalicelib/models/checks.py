"""Plain checks of the commonest request bodies, so their routes need not load pydantic.

A check accepts only bodies its model accepts and returns what the model would give
(the same JSON when dumped); for anything else it returns None, and the model validates
the body and words the error. tests/unit/test_body_checks.py holds both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# DynamoDB numbers hold 38 digits up to 1e125; games need far less.
MAX_ABS_NUMBER = 1e15
# StatsUpdate: a stat name's length, how many stats one request updates.
STAT_NAME_MAX = 40
STAT_UPDATES_MAX = 50


@dataclass(frozen=True)
class StatsUpdateBody:
    """What `StatsUpdate` gives: stat name -> number (as a float)."""

    updates: dict[str, float]


def stats_update(data: Any) -> StatsUpdateBody | None:
    """`StatsUpdate` for a body of 1 to 50 finite numbers under stat names of 1 to 40 characters."""
    if type(data) is not dict or len(data) != 1 or type(updates := data.get("updates")) is not dict:
        return None
    if not 1 <= len(updates) <= STAT_UPDATES_MAX:
        return None
    checked: dict[str, float] = {}
    for name, value in updates.items():
        if type(name) is not str or not 1 <= len(name) <= STAT_NAME_MAX or type(value) not in (int, float):
            return None
        if abs(value) > MAX_ABS_NUMBER or not math.isfinite(value):
            return None
        checked[name] = float(value)
    return StatsUpdateBody(updates=checked)
