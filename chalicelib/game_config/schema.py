"""Schema of the game config: what a game may declare, checked by pydantic at load."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Identifiers of stats, boards, achievements, queues: safe in keys, URLs and logs.
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatDef(Strict):
    """A named player stat."""

    type: Literal["int", "float"] = "int"
    aggregation: Literal["sum", "max", "min", "latest"]
    min: float | None = None
    max: float | None = None
    # Largest absolute value one request may add (sum) or set (others: unchecked).
    max_delta: float | None = Field(default=None, gt=0)
    writer: Literal["client", "server"] = "client"
    default: float = 0
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> StatDef:
        for name in ("min", "max", "max_delta", "default"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be finite")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.type == "int":
            for name in ("min", "max", "max_delta", "default"):
                value = getattr(self, name)
                if value is not None and value != int(value):
                    raise ValueError(f"{name} must be a whole number for an int stat")
        if (self.min is not None and self.default < self.min) or (self.max is not None and self.default > self.max):
            raise ValueError("default is outside [min, max]")
        return self

    def client_view(self) -> dict[str, Any]:
        return self.model_dump(exclude={"description"} if not self.description else set())


# Event types: identifiers; a pattern is a prefix ending in `*` (`level_*`).
EventPattern = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,38}\*$")]


class EventsDef(Strict):
    """Game events: the types a client may send, their limits, and how long they are kept."""

    types: tuple[Ident, ...] = ()
    patterns: tuple[EventPattern, ...] = ()
    # The type whose events count as sessions in analytics (None: sessions are not counted).
    session_start: Ident | None = None
    # A client timestamp older than this, or ahead of the server by more than the skew, is rejected.
    max_age_seconds: int = Field(default=7 * 86400, ge=60, le=30 * 86400)
    future_skew_seconds: int = Field(default=300, ge=0, le=3600)
    # `data`: compact JSON size and nesting depth.
    max_data_bytes: int = Field(default=4096, ge=2, le=16384)
    max_data_depth: int = Field(default=5, ge=1, le=16)
    # Stored events expire this long after they arrive.
    retention_days: int = Field(default=30, ge=1, le=365)
    # Daily counters: items per day (spread the writes) and how long they are kept.
    counter_shards: int = Field(default=8, ge=1, le=32)
    analytics_retention_days: int = Field(default=400, ge=30, le=3650)

    @model_validator(mode="after")
    def _check(self) -> EventsDef:
        if len(set(self.types)) != len(self.types):
            raise ValueError("types has duplicates")
        if self.session_start is not None and not self.allows(self.session_start):
            raise ValueError(f"session_start {self.session_start!r} is not a declared type or pattern")
        # A resend must find its first copy still stored, or it would be counted again.
        if self.retention_days * 86400 <= self.max_age_seconds + self.future_skew_seconds:
            raise ValueError("retention_days must outlast max_age_seconds + future_skew_seconds")
        return self

    def allows(self, event_type: str) -> bool:
        return event_type in self.types or any(event_type.startswith(p[:-1]) for p in self.patterns)

    def client_view(self) -> dict[str, Any]:
        return self.model_dump(exclude={"counter_shards", "analytics_retention_days"})


class GameConfig(Strict):
    """The whole game declaration. Sections are keyed by id."""

    game: Ident = "game"
    stats: dict[Ident, StatDef] = Field(default_factory=dict)
    events: EventsDef = Field(default_factory=EventsDef)
    # Later services add their sections here (leaderboards, achievements, queues, events).

    def stat(self, stat_id: str) -> StatDef | None:
        return self.stats.get(stat_id)

    def client_view(self) -> dict[str, Any]:
        """What `GET /config` shows: everything a client may discover."""
        return {
            "game": self.game,
            "stats": {k: v.client_view() for k, v in self.stats.items()},
            "events": self.events.client_view(),
        }
