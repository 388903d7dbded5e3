"""Game events and analytics routes: ingest, the admin summary, and the seed's adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.api.seed import payload_as
from chalicelib.errors import Throttled

if TYPE_CHECKING:
    from chalicelib.models.events import SeedEventBatch


bp = Blueprint(__name__)


@route(
    bp,
    "/events",
    methods=("POST",),
    body="chalicelib.models.events:EventBatch",
    response="chalicelib.models.events:EventBatchResult",
    status=202,
    tags=("events",),
    errors=(400, 413, 503),
)
def post_events(call: Call) -> dict[str, Any]:
    """Send up to 25 events; resends are no-ops, invalid ones are rejected by index."""
    from chalicelib.services import events

    return events.ingest(
        player_id=call.player_id,
        events=call.body.events,
        config=composition.game_config().events,
        repo=composition.events_repo(),
    )


@route(
    bp,
    "/admin/analytics/summary",
    auth="admin",
    query="chalicelib.models.events:SummaryQuery",
    response="chalicelib.models.events:AnalyticsSummary",
    tags=("admin", "analytics"),
    errors=(400, 403),
)
def admin_analytics_summary(call: Call) -> dict[str, Any]:
    """Daily active and new players, sessions, events by type, D1/D7 retention (90 days at most)."""
    from chalicelib.services import analytics

    return analytics.summary(
        first=call.query.from_,
        last=call.query.to,
        config=composition.game_config().events,
        repo=composition.analytics_repo(),
    )


def _seed_ingest(call: Call, batch: SeedEventBatch) -> dict[str, Any]:
    from chalicelib.services import events

    result = events.ingest_seed(
        player_id=call.player_id,
        events=batch.events,
        batch_timestamp=batch.batch_timestamp,
        batch_id=batch.batch_id,
        config=composition.game_config().events,
        repo=composition.events_repo(),
    )
    if any(r["code"] == "unavailable" for r in result["rejected"]):
        # The seed client re-queues a failed batch whole; what was stored is skipped then.
        raise Throttled("some events were not stored, send the batch again", details=result)
    return {
        "message": f"Processed {len(batch.events)} events",
        "batch_id": batch.batch_id,
        "processed": len(batch.events),
        **result,
    }


@route(
    bp,
    "/game-events",
    methods=("POST",),
    body="chalicelib.models.common:SeedEnvelope",
    response="chalicelib.models.events:SeedEventsResponse",
    tags=("seed",),
    errors=(400, 413, 503),
)
def seed_game_events(call: Call) -> dict[str, Any]:
    """Seed adapter: the seed's event batch (`events`, `batch_id`, `batch_timestamp`)."""
    from chalicelib.models.events import SeedEventBatch

    return _seed_ingest(call, payload_as(SeedEventBatch, call.body.payload))


@route(
    bp,
    "/analytics",
    methods=("POST",),
    body="chalicelib.models.common:SeedEnvelope",
    response="chalicelib.models.events:SeedEventsResponse",
    tags=("seed",),
    errors=(400, 413, 503),
)
def seed_analytics(call: Call) -> dict[str, Any]:
    """Seed adapter: a client analytics post is tracked as events, a batch (`events`) or one
    event (`eventType`, `eventData`, `timestamp`, `sessionId`); admins read the summary route."""
    from chalicelib.models.events import SeedEventBatch

    payload = call.body.payload
    if "events" in payload:
        return _seed_ingest(call, payload_as(SeedEventBatch, payload))
    single = {k: v for k, v in payload.items() if k not in ("batch_id", "batch_timestamp")}
    batch = {"events": [single], **{k: v for k, v in payload.items() if k in ("batch_id", "batch_timestamp")}}
    return _seed_ingest(call, payload_as(SeedEventBatch, batch))
