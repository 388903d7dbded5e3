"""Analytics: daily figures counted when events are stored, exactly once, and read back.

A batch's counts go in the same transaction as its new events (storage/events.py): the
event item itself says "counted", so an event is counted by the one request that stores
it, and a resend, a concurrent copy or a retried request adds nothing. Nothing reads the
events stream to count, so a redelivered stream record cannot count twice either.
Active, new and D1/D7 are counted the first time a player is seen on a day, through a
day marker and a FIRST marker put if absent in that transaction.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from chalicelib.clock import Clock, system_clock
from chalicelib.errors import Invalid
from chalicelib.game_config.declarations import EventsDef
from chalicelib.models.events import MAX_SUMMARY_DAYS
from chalicelib.storage.analytics import FIRST, AnalyticsRepository, Marker, day_marker
from chalicelib.storage.events import Counts, StoredEvent

# Counter names on the daily items.
EVENTS = "events"
SESSIONS = "sessions"
ACTIVE = "active"
NEW = "new"
D1 = "d1"
D7 = "d7"
TYPE_PREFIX = "t:"
# A day marker is read only on its own day (a batch counts on the day it arrives).
DAY_MARKER_DAYS = 3


def day_of(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def _date(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _day_end(day: str, extra_days: int = 0) -> int:
    start = dt.datetime.combine(_date(day), dt.time(), dt.UTC)
    return int((start + dt.timedelta(days=1 + extra_days)).timestamp())


def batch_counts(
    *,
    player_id: str,
    events: Iterable[StoredEvent],
    day: str,
    cohort: str | None,
    active_today: bool,
    config: EventsDef,
    attempt: int = 0,
) -> Counts:
    """What storing these new events on `day` adds: events (by type, sessions), and the
    first time the player is seen that day: active, new (FIRST), D1/D7 of its cohort."""
    counts: Counter[str] = Counter()
    for event in events:
        counts[EVENTS] += 1
        counts[TYPE_PREFIX + event.type] += 1
        if config.session_start is not None and event.type == config.session_start:
            counts[SESSIONS] += 1
    increments: dict[str, Counter[str]] = {day: counts}
    markers: list[Marker] = []
    if cohort is None:
        cohort = day
        markers.append(Marker(player_id, FIRST, attrs={"cohort": day}))
        counts[NEW] += 1
    if not active_today:
        markers.append(Marker(player_id, day_marker(day), expires_at=_day_end(day, DAY_MARKER_DAYS)))
        counts[ACTIVE] += 1
        gap = (_date(day) - _date(cohort)).days
        if gap in (1, 7):
            increments.setdefault(cohort, Counter())[D1 if gap == 1 else D7] += 1
    # Spread the day's writes over the shards; another shard on each retry.
    shard = zlib.crc32(f"{player_id}:{attempt}".encode()) % config.counter_shards
    return Counts(
        markers=markers,
        increments=increments,
        shard=shard,
        expires_at=lambda d: _day_end(d, config.analytics_retention_days),
    )


def summary(
    *,
    first: dt.date | None,
    last: dt.date | None,
    config: EventsDef,
    repo: AnalyticsRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Daily figures for [first, last] (UTC days, at most 90): days x shards counter items."""
    today = _date(day_of(clock()))
    last = last or today
    first = first or last - dt.timedelta(days=6)
    if first > last:
        raise Invalid("from: is after to", field="from")
    span = (last - first).days + 1
    if span > MAX_SUMMARY_DAYS:
        raise Invalid(f"from: the range is {span} days, at most {MAX_SUMMARY_DAYS}", field="from")
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range(span)]
    counters = repo.counters(days, config.counter_shards)
    out: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    for day in days:
        c = counters.get(day, Counter())
        new = c[NEW]
        row = {
            "day": day,
            "active_players": c[ACTIVE],
            "new_players": new,
            "sessions": c[SESSIONS],
            "events": c[EVENTS],
            "events_by_type": {
                k[len(TYPE_PREFIX) :]: v for k, v in sorted(c.items()) if k.startswith(TYPE_PREFIX) and v
            },
            "d1_retained": c[D1],
            "d7_retained": c[D7],
            # A rate only once its day has ended: until then the cohort can still come back.
            "d1_retention": _rate(c[D1], new) if _date(day) + dt.timedelta(days=1) < today else None,
            "d7_retention": _rate(c[D7], new) if _date(day) + dt.timedelta(days=7) < today else None,
        }
        out.append(row)
        totals.update({"events": c[EVENTS], "sessions": c[SESSIONS], "new_players": new})
    return {"first_day": days[0], "last_day": days[-1], "days": out, "totals": dict(totals)}
