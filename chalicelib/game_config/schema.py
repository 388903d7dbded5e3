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


# -- user progress (cloud saves) --------------------------------------------------------

KIB = 1024
MIB = 1024 * KIB
# DynamoDB items hold 400 KB; the inline cap leaves room for the slot's other attributes.
INLINE_CEILING = 300 * KIB
# One presigned PUT carries up to 5 GB; commits read an object back at most this large.
OBJECT_CEILING = 512 * MIB


class SavesConfig(Strict):
    """Cloud-save limits: slots per player, inline size, S3 object size, URL lifetimes."""

    max_slots: int = Field(default=10, ge=1, le=100)
    max_inline_bytes: int = Field(default=64 * KIB, ge=1, le=INLINE_CEILING)
    max_object_bytes: int = Field(default=16 * MIB, ge=1, le=OBJECT_CEILING)
    upload_url_seconds: int = Field(default=900, ge=60, le=3600)
    download_url_seconds: int = Field(default=900, ge=60, le=3600)

    @model_validator(mode="after")
    def _check(self) -> SavesConfig:
        if self.max_object_bytes < self.max_inline_bytes:
            raise ValueError("max_object_bytes is smaller than max_inline_bytes")
        return self

    def client_view(self) -> dict[str, Any]:
        return self.model_dump()


class GameConfig(Strict):
    """The whole game declaration. Sections are keyed by id."""

    game: Ident = "game"
    stats: dict[Ident, StatDef] = Field(default_factory=dict)
    saves: SavesConfig = Field(default_factory=SavesConfig)
    # Later services add their sections here (leaderboards, achievements, queues, events).

    def stat(self, stat_id: str) -> StatDef | None:
        return self.stats.get(stat_id)

    def client_view(self) -> dict[str, Any]:
        """What `GET /config` shows: everything a client may discover."""
        return {
            "game": self.game,
            "stats": {k: v.client_view() for k, v in self.stats.items()},
            "saves": self.saves.client_view(),
        }
