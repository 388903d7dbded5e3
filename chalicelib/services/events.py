"""Game events: validate a batch event by event, skip the ones already stored, store the rest.

Each event is checked alone, so a bad one is rejected by index and the others kept.
A batch of up to 25 costs one BatchGetItem (stored ids, the player's markers) and one
TransactWriteItems that stores the new events with their analytics counts, each event
put only if absent. Copies racing past the read lose the condition, read again and are
answered as duplicates: summed over concurrent resends, `accepted` is the number of
distinct events, and each is counted once in the analytics.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from typing import Any

from pydantic import ValidationError

from chalicelib.clock import Clock, system_clock
from chalicelib.errors import Invalid, TooLarge
from chalicelib.game_config.declarations import EventsDef
from chalicelib.models.events import MAX_BATCH, EventIn, SeedEvent
from chalicelib.observability import logger, metrics
from chalicelib.services import analytics
from chalicelib.services.analytics import day_of
from chalicelib.storage.events import EventsRepository, Outcome, StoredEvent

Rejection = dict[str, Any]
# Seed timestamps below this are not Unix seconds (Unity's Time.time counts from launch).
EPOCH_FLOOR = 1_000_000_000
EPOCH_MS_FLOOR = 100_000_000_000


def _reject(index: int, code: str, message: str) -> Rejection:
    return {"index": index, "code": code, "message": message}


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def check_event(index: int, raw: Any, config: EventsDef, now: float) -> EventIn | Rejection:
    """The validated event, or its rejection `{index, code, message}`."""
    prefix = f"events.{index}"
    try:
        event = EventIn.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        return _reject(index, "invalid", f"{prefix}.{where}: {err['msg']}" if where else f"{prefix}: {err['msg']}")
    if not config.allows(event.type):
        return _reject(index, "unknown_type", f"{prefix}.type: {event.type!r} is not a declared event type")
    if event.timestamp < now - config.max_age_seconds:
        return _reject(index, "too_old", f"{prefix}.timestamp: older than {config.max_age_seconds} seconds")
    if event.timestamp > now + config.future_skew_seconds:
        return _reject(index, "in_future", f"{prefix}.timestamp: more than {config.future_skew_seconds} seconds ahead")
    if _depth(event.data) > config.max_data_depth:
        return _reject(index, "too_deep", f"{prefix}.data: nested deeper than {config.max_data_depth} levels")
    size = len(_compact(event.data).encode("utf-8"))
    if size > config.max_data_bytes:
        return _reject(index, "too_large", f"{prefix}.data: {size} bytes as JSON, over {config.max_data_bytes}")
    return event


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True, allow_nan=False)


def ingest(
    *,
    player_id: str,
    events: list[Any],
    config: EventsDef,
    repo: EventsRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Store a batch of up to 25 events for the player; answers accepted, duplicates, rejected."""
    if not events:
        raise Invalid("events: send at least one event", field="events")
    if len(events) > MAX_BATCH:
        raise TooLarge(f"events: {len(events)} events, at most {MAX_BATCH} a batch", details={"limit": MAX_BATCH})
    now = clock()
    checked = [check_event(i, raw, config, now) for i, raw in enumerate(events)]
    return _store(player_id=player_id, checked=checked, config=config, repo=repo, now=now)


def _store(
    *, player_id: str, checked: list[EventIn | Rejection], config: EventsDef, repo: EventsRepository, now: float
) -> dict[str, Any]:
    rejected = [c for c in checked if isinstance(c, dict)]
    valid = [(i, c) for i, c in enumerate(checked) if isinstance(c, EventIn)]
    in_batch_copies = 0
    unique: dict[str, tuple[int, EventIn]] = {}
    for index, event in valid:
        if event.event_id in unique:
            in_batch_copies += 1  # the same id twice in one batch: the second is a resend
        else:
            unique[event.event_id] = (index, event)
    day = day_of(now)
    expires_at = int(now) + config.retention_days * 86400
    accepted = 0
    unstored: list[str] = []
    for attempt in range(repo.attempts if unique else 0):
        # Read, then write only what is new in one transaction conditioned on it still
        # being new: if another request stored any of it meanwhile, read again.
        state = repo.state(player_id, list(unique), day, now)
        new = [
            StoredEvent(
                player_id=player_id,
                event_id=event_id,
                type=event.type,
                timestamp=event.timestamp,
                session_id=event.session_id,
                data=_compact(event.data),
                received_at=now,
                day=day,
                expires_at=expires_at,
            )
            for event_id, (_, event) in unique.items()
            if event_id not in state.stored
        ]
        if not new:
            unstored = []
            break
        counts = analytics.batch_counts(
            player_id=player_id,
            events=new,
            day=day,
            cohort=state.cohort,
            active_today=state.active_today,
            config=config,
            attempt=attempt,
        )
        outcome = repo.store(new, counts, now)
        if outcome is Outcome.STORED:
            accepted, unstored = len(new), []
            break
        unstored = [e.event_id for e in new]
        if outcome is Outcome.BUSY and attempt + 1 < repo.attempts:
            repo.sleep(min(0.025 * 2**attempt, 0.5))
    for event_id in unstored:
        rejected.append(_reject(unique[event_id][0], "unavailable", "not stored: the store is busy, send it again"))
    rejected.sort(key=lambda r: int(r["index"]))
    duplicates = in_batch_copies + len(unique) - accepted - len(unstored)
    metrics.add_metric(name="EventsAccepted", unit="Count", value=accepted)
    logger.info(
        "events ingested",
        extra={"accepted": accepted, "duplicates": duplicates, "rejected": len(rejected), "unstored": len(unstored)},
    )
    return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}


def seed_event_id(event: SeedEvent, *, copy: int = 0, batch_id: str | None = None, index: int = 0) -> str:
    """The seed client sends no event id and re-queues a failed batch's events under a new
    batch id, so an event with a timestamp is known by its own fields (type, timestamp,
    session, data) and by `copy`: how many identical events came before it in the batch
    (two events tracked in one frame share Unity's Time.time). Without a timestamp the
    fields tell nothing apart: the id comes from the batch id and the position when the
    client sent one (a client that keeps it on resend is recognised), else it is new."""
    if event.timestamp is None:
        if not batch_id:
            return "seed-" + uuid.uuid4().hex[:40]
        basis = _compact(["batch", batch_id, index, event.eventType, event.sessionId, event.eventData or {}])
    else:
        fields: list[Any] = [event.eventType, event.timestamp, event.sessionId, event.eventData or {}]
        basis = _compact([*fields, copy] if copy else fields)  # copy 0: the id of earlier versions
    return "seed-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:40]


def _seed_time(timestamp: float | None, fallback: float) -> float:
    if timestamp is None or timestamp < EPOCH_FLOOR:
        return fallback
    return timestamp / 1000 if timestamp >= EPOCH_MS_FLOOR else timestamp


def ingest_seed(
    *,
    player_id: str,
    events: list[Any],
    batch_timestamp: float | None,
    config: EventsDef,
    repo: EventsRepository,
    batch_id: str | None = None,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """The seed's batch (`{eventType, playerId, eventData, timestamp, sessionId}` events) over
    the same path. A seed timestamp that is not Unix time (Unity's Time.time) is replaced by
    the batch's timestamp, else the server's; `playerId` is ignored (the token decides)."""
    if not events:
        raise Invalid("payload.events: send at least one event", field="payload.events")
    if len(events) > MAX_BATCH:
        raise TooLarge(
            f"payload.events: {len(events)} events, at most {MAX_BATCH} a batch", details={"limit": MAX_BATCH}
        )
    now = clock()
    fallback = _seed_time(batch_timestamp, now)
    checked: list[EventIn | Rejection] = []
    copies: Counter[str] = Counter()
    for i, raw in enumerate(events):
        try:
            seed = SeedEvent.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors(include_url=False, include_input=False, include_context=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            checked.append(_reject(i, "invalid", f"payload.events.{i}.{where}: {err['msg']}".rstrip(".")))
            continue
        same = _compact([seed.eventType, seed.timestamp, seed.sessionId, seed.eventData or {}])
        mapped = {
            "event_id": seed_event_id(seed, copy=copies[same], batch_id=batch_id, index=i),
            "type": seed.eventType,
            "timestamp": _seed_time(seed.timestamp, fallback),
            "session_id": seed.sessionId or None,
            "data": seed.eventData or {},
        }
        copies[same] += 1
        checked.append(check_event(i, mapped, config, now))
    return _store(player_id=player_id, checked=checked, config=config, repo=repo, now=now)
