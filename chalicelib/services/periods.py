"""Leaderboard periods on UTC boundaries: `2026-11-24` daily, `2026-W48` weekly (ISO
weeks), `2026-11` monthly, `all` for a board that never resets."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Reset = Literal["none", "daily", "weekly", "monthly"]
ALL = "all"

_FORMATS = {
    "none": re.compile(r"^all$"),
    "daily": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "weekly": re.compile(r"^(\d{4})-W(\d{2})$"),
    "monthly": re.compile(r"^(\d{4})-(\d{2})$"),
}


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def _ts(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def period_of(reset: Reset, ts: float) -> str:
    """The id of the period holding the instant `ts`."""
    if reset == "none":
        return ALL
    day = _day(ts)
    if reset == "daily":
        return day.isoformat()
    if reset == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def _first_day(reset: Reset, period: str) -> date:
    match = _FORMATS[reset].match(period)
    if match is None:
        raise ValueError(f"not a {reset} period id")
    parts = [int(g) for g in match.groups()]
    if reset == "daily":
        return date(parts[0], parts[1], parts[2])
    if reset == "weekly":
        return date.fromisocalendar(parts[0], parts[1], 1)
    return date(parts[0], parts[1], 1)


def bounds(reset: Reset, period: str) -> tuple[float | None, float | None]:
    """[start, end) of a period as epoch seconds; (None, None) for `all`."""
    if reset == "none":
        return None, None
    start = _first_day(reset, period)
    return _ts(start), _ts(_next_first_day(reset, start))


def _next_first_day(reset: Reset, start: date) -> date:
    if reset == "daily":
        return start + timedelta(days=1)
    if reset == "weekly":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def parse(reset: Reset, text: str) -> str:
    """A period id as the board's reset spells it; ValueError otherwise."""
    if reset == "none":
        if text != ALL:
            raise ValueError("this board never resets: its only period is 'all'")
        return ALL
    try:
        start = _first_day(reset, text)
    except ValueError as exc:
        example = {"daily": "2026-11-24", "weekly": "2026-W48", "monthly": "2026-11"}[reset]
        raise ValueError(f"must be a {reset} period id like {example}") from exc
    if period_of(reset, _ts(start)) != text:  # e.g. 2026-W53 in a 52-week year
        raise ValueError(f"no such {reset} period")
    return text


def previous(reset: Reset, period: str) -> str:
    start, _ = bounds(reset, period)
    return period if start is None else period_of(reset, start - 1)


def following(reset: Reset, period: str) -> str:
    _, end = bounds(reset, period)
    return period if end is None else period_of(reset, end)
