"""Game events and analytics: the batch a client posts, the answer, the admin summary."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from chalicelib.models.common import FiniteNumber, RequestModel, ResponseModel

MAX_BATCH = 25
MAX_SUMMARY_DAYS = 90

EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class EventIn(RequestModel):
    """One event: validated alone, so a bad one is rejected by index and the rest kept."""

    event_id: EventId = Field(description="Client-made unique id; a resend with the same id is a no-op")
    type: EventType = Field(description="A declared type, or one matching a declared pattern")
    timestamp: FiniteNumber = Field(description="When it happened on the client, Unix seconds")
    session_id: SessionId | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="A JSON object within the declared limits")


class EventBatch(RequestModel):
    """Up to 25 events; each is checked on its own (see `rejected` in the answer)."""

    events: list[Any] = Field(description=f"1 to {MAX_BATCH} events (more: 413)")


class EventRejection(ResponseModel):
    index: int
    code: str = Field(description="invalid | unknown_type | too_old | in_future | too_large | too_deep | unavailable")
    message: str


class EventBatchResult(ResponseModel):
    accepted: int = Field(
        description="Events stored (and counted) by this request; over copies of a batch sent at once, "
        "they add up to the distinct events"
    )
    duplicates: int = Field(
        description="Events already stored (resent, or stored by a concurrent copy), left as they were"
    )
    rejected: list[EventRejection]


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("must be a day as YYYY-MM-DD")


# A UTC day written YYYY-MM-DD (not a number: pydantic alone would read "0" as 1970-01-01).
Day = Annotated[dt.date, BeforeValidator(_day)]


class SummaryQuery(RequestModel):
    from_: Day | None = Field(default=None, alias="from", description="First UTC day, YYYY-MM-DD (default: to - 6)")
    to: Day | None = Field(default=None, description="Last UTC day, YYYY-MM-DD (default: today)")

    @model_validator(mode="after")
    def _order(self) -> SummaryQuery:
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("from is after to")
        return self


class DaySummary(ResponseModel):
    day: str
    active_players: int
    new_players: int
    sessions: int
    events: int
    events_by_type: dict[str, int]
    # Of the players whose first day is `day`: how many came back the next day / 7 days later.
    d1_retained: int
    d7_retained: int
    d1_retention: float | None = Field(
        description="d1_retained / new_players, once the cohort's next day has ended (null before, or with no new players)"
    )
    d7_retention: float | None = Field(
        description="d7_retained / new_players, once the cohort's seventh day has ended (null before, or with no new players)"
    )


class AnalyticsSummary(ResponseModel):
    first_day: str
    last_day: str
    days: list[DaySummary]
    totals: dict[str, int]


class SeedEvent(RequestModel):
    """The seed client's event: `{eventType, playerId, eventData, timestamp, sessionId}`."""

    eventType: EventType
    playerId: str | None = Field(default=None, max_length=256)
    eventData: dict[str, Any] | None = None
    timestamp: FiniteNumber | None = None
    sessionId: str | None = Field(default=None, max_length=64)


class SeedEventBatch(RequestModel):
    """The seed's batch payload: `events`, `batch_id`, `batch_timestamp`."""

    events: list[Any]
    batch_id: str | None = Field(default=None, max_length=128)
    batch_timestamp: FiniteNumber | None = None


class SeedEventsResponse(ResponseModel):
    message: str
    batch_id: str | None
    processed: int
    accepted: int
    duplicates: int
    rejected: list[EventRejection]
