"""Analytics: daily figures counted from the events stream, exactly once, and read back.

The events table's stream delivers an INSERT record the first time an event id is stored
(a resend overwrites nothing new: DynamoDB writes no record for an identical put, and a
MODIFY is ignored here). Records may be delivered more than once, so every count goes
in a transaction with a marker put only if absent: a replay finds the marker and adds
nothing. Per stream batch: one BatchGetItem for the players' markers and about one
transaction per 90 events (counters aggregated per day, on one shard per transaction).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.clock import Clock, system_clock
from chalicelib.errors import Invalid
from chalicelib.game_config.schema import EventsDef
from chalicelib.models.events import MAX_SUMMARY_DAYS
from chalicelib.observability import logger
from chalicelib.storage.analytics import FIRST, TRANSACTION_MAX, AnalyticsRepository, Marker, day_marker, event_marker
from chalicelib.storage.events import StoredEvent, event_from_image

# Counter names on the daily items.
EVENTS = "events"
SESSIONS = "sessions"
ACTIVE = "active"
NEW = "new"
D1 = "d1"
D7 = "d7"
TYPE_PREFIX = "t:"
# Day markers only stop a replayed stream record (kept 24 hours) from counting twice.
DAY_MARKER_DAYS = 3
MAX_REPLANS = 4


def day_of(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def _date(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


def _day_end(day: str, extra_days: int = 0) -> int:
    start = dt.datetime.combine(_date(day), dt.time(), dt.UTC)
    return int((start + dt.timedelta(days=1 + extra_days)).timestamp())


@dataclass
class _Plan:
    """One marker and the counts it stands for: (day, counter) -> n."""

    marker: Marker
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    replan: bool = False  # a FIRST marker: if it exists, the player's plans are redone


@dataclass
class CountReport:
    events_seen: int = 0
    events_counted: int = 0
    already_counted: int = 0
    players: int = 0
    transactions: int = 0


def events_from_records(records: Iterable[Mapping[str, Any]]) -> list[StoredEvent]:
    """The events of INSERT records (a MODIFY or REMOVE never counts)."""
    out: list[StoredEvent] = []
    seen: set[tuple[str, str]] = set()
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        image = (record.get("dynamodb") or {}).get("NewImage")
        event = event_from_image(image) if image else None
        if event is not None and (event.player_id, event.event_id) not in seen:
            seen.add((event.player_id, event.event_id))
            out.append(event)
    return out


def count_records(*, records: Iterable[Mapping[str, Any]], config: EventsDef, repo: AnalyticsRepository) -> CountReport:
    """Count a batch of stream records into the daily figures, each event once."""
    events = events_from_records(records)
    report = CountReport(events_seen=len(events))
    if not events:
        return report
    plans: list[list[_Plan]] = []
    for event in events:
        counts: Counter[tuple[str, str]] = Counter({(event.day, EVENTS): 1, (event.day, TYPE_PREFIX + event.type): 1})
        if config.session_start is not None and event.type == config.session_start:
            counts[(event.day, SESSIONS)] += 1
        marker = Marker(event.player_id, event_marker(event.event_id), expires_at=event.expires_at)
        plans.append([_Plan(marker, counts)])
    days_by_player: dict[str, set[str]] = defaultdict(set)
    for event in events:
        days_by_player[event.player_id].add(event.day)
    report.players = len(days_by_player)

    committed, _ = _commit(plans, config, repo, report)
    report.events_counted = committed
    report.already_counted = len(events) - committed

    pending = dict(days_by_player)
    for _ in range(MAX_REPLANS):
        if not pending:
            break
        groups = _player_plans(pending, repo)
        _, replan = _commit(groups, config, repo, report)
        pending = {p: days_by_player[p] for p in replan}
    if pending:  # markers kept changing under us: let the stream redeliver the batch
        raise RuntimeError(f"could not settle the markers of {len(pending)} players")
    logger.info("events counted", extra=report.__dict__)
    return report


def _player_plans(days_by_player: Mapping[str, set[str]], repo: AnalyticsRepository) -> list[list[_Plan]]:
    """For each player: FIRST if never seen (a new player), then each day not yet counted
    as active, with D1/D7 for the player's cohort when the day is cohort + 1 or + 7."""
    wanted = [(p, FIRST) for p in days_by_player]
    wanted += [(p, day_marker(d)) for p, days in days_by_player.items() for d in days]
    existing = repo.markers(wanted)
    groups: list[list[_Plan]] = []
    for player, days in sorted(days_by_player.items()):
        group: list[_Plan] = []
        first = existing.get((player, FIRST))
        if first is None:
            cohort = min(days)
            group.append(
                _Plan(Marker(player, FIRST, attrs={"cohort": cohort}), Counter({(cohort, NEW): 1}), replan=True)
            )
        else:
            cohort = str(first["cohort"])
        for day in sorted(days):
            if (player, day_marker(day)) in existing:
                continue
            counts: Counter[tuple[str, str]] = Counter({(day, ACTIVE): 1})
            gap = (_date(day) - _date(cohort)).days
            if gap == 1:
                counts[(cohort, D1)] += 1
            elif gap == 7:
                counts[(cohort, D7)] += 1
            group.append(_Plan(Marker(player, day_marker(day), expires_at=_day_end(day, DAY_MARKER_DAYS)), counts))
        if group:
            groups.append(group)
    return groups


def _commit(
    groups: list[list[_Plan]], config: EventsDef, repo: AnalyticsRepository, report: CountReport
) -> tuple[int, set[str]]:
    """Commit groups of plans, packed into transactions (a group is never split). A plan
    whose marker exists is dropped (already counted); if it is a FIRST, the player's whole
    group is dropped and returned for replanning. Returns (plans committed, players to replan)."""
    committed = 0
    replan: set[str] = set()
    for batch in _pack(groups):
        while batch:
            plans = [plan for group in batch for plan in group]
            increments: dict[str, Counter[str]] = defaultdict(Counter)
            for plan in plans:
                for (day, name), n in plan.counts.items():
                    increments[day][name] += n
            shard = (
                zlib.crc32(plans[0].marker.name.encode() + plans[0].marker.player_id.encode()) % config.counter_shards
            )
            report.transactions += 1
            failed = set(
                repo.commit(
                    [p.marker for p in plans],
                    dict(increments),
                    shard,
                    lambda day: _day_end(day, config.analytics_retention_days),
                )
            )
            if not failed:
                committed += len(plans)
                break
            failed_plans = [plans[i] for i in failed]
            drop_players = {p.marker.player_id for p in failed_plans if p.replan}
            replan |= drop_players
            failed_ids = {id(p) for p in failed_plans}
            batch = [
                [p for p in group if id(p) not in failed_ids]
                for group in batch
                if not (group and group[0].marker.player_id in drop_players and any(p.replan for p in group))
            ]
            batch = [g for g in batch if g]
    return committed, replan


def _pack(groups: list[list[_Plan]]) -> list[list[list[_Plan]]]:
    """Pack groups into transactions of at most 100 items (markers + one counter a day)."""
    packed: list[list[list[_Plan]]] = []
    current: list[list[_Plan]] = []
    markers = 0
    days: set[str] = set()
    for group in groups:
        group_days = {day for plan in group for (day, _) in plan.counts}
        if current and markers + len(group) + len(days | group_days) > TRANSACTION_MAX:
            packed.append(current)
            current, markers, days = [], 0, set()
        current.append(group)
        markers += len(group)
        days |= group_days
    if current:
        packed.append(current)
    return packed


def summary(
    *,
    first: dt.date | None,
    last: dt.date | None,
    config: EventsDef,
    repo: AnalyticsRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Daily figures for [first, last] (UTC days, at most 90): days x shards counter items."""
    last = last or _date(day_of(clock()))
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
            "d1_retention": round(c[D1] / new, 4) if new else None,
            "d7_retention": round(c[D7] / new, 4) if new else None,
        }
        out.append(row)
        totals.update({"events": c[EVENTS], "sessions": c[SESSIONS], "new_players": new})
    return {"first_day": days[0], "last_day": days[-1], "days": out, "totals": dict(totals)}
