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


# Achievements and notifications ------------------------------------------------------

MAX_ACHIEVEMENTS = 200
MAX_TARGET = 1e12


class AchievementReward(Strict):
    """A stat increment given once, on unlock."""

    stat: Ident
    amount: float

    @model_validator(mode="after")
    def _check(self) -> AchievementReward:
        if not math.isfinite(self.amount) or self.amount == 0:
            raise ValueError("amount must be a finite, non-zero number")
        return self


class AchievementDef(Strict):
    """An achievement: a stat threshold, incremental steps, or manual (server-granted)."""

    title: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=300)
    points: int = Field(default=0, ge=0, le=100_000)
    hidden: bool = False
    kind: Literal["threshold", "incremental", "manual"]
    # threshold: unlocks when `stat` reaches `target` (at_least) or falls to it (at_most).
    stat: Ident | None = None
    comparison: Literal["at_least", "at_most"] = "at_least"
    # threshold: the stat value; incremental: the number of steps.
    target: float | None = None
    # incremental: whether clients may report steps, and at most how many per request.
    client_reports: bool = False
    max_step: int | None = Field(default=None, ge=1)
    reward: AchievementReward | None = None

    @model_validator(mode="after")
    def _check(self) -> AchievementDef:
        if self.target is not None and (not math.isfinite(self.target) or abs(self.target) > MAX_TARGET):
            raise ValueError(f"target must be finite and within +/-{MAX_TARGET:g}")
        if self.kind == "threshold":
            if self.stat is None or self.target is None:
                raise ValueError("a threshold achievement needs a stat and a target")
        elif self.stat is not None or self.comparison != "at_least":
            raise ValueError(f"stat and comparison are for threshold achievements, not {self.kind}")
        if self.kind == "incremental":
            if self.target is None or self.target < 1 or self.target != int(self.target):
                raise ValueError("an incremental achievement needs a whole target of at least 1 step")
        elif self.client_reports or self.max_step is not None:
            raise ValueError("client_reports and max_step are for incremental achievements")
        if self.kind == "manual" and self.target is not None:
            raise ValueError("a manual achievement has no target")
        return self

    @property
    def step_cap(self) -> int:
        """Most steps one progress report may add."""
        return self.max_step or int(self.target or 1)

    def client_view(self) -> dict[str, Any]:
        return self.model_dump(exclude={"client_reports", "max_step"} if self.kind != "incremental" else set())


class NotificationsConfig(Strict):
    """The inbox: how long a notification (or a broadcast) lives."""

    ttl_days: int = Field(default=30, ge=1, le=365)


class GameConfig(Strict):
    """The whole game declaration. Sections are keyed by id."""

    game: Ident = "game"
    stats: dict[Ident, StatDef] = Field(default_factory=dict)
    achievements: dict[Ident, AchievementDef] = Field(default_factory=dict, max_length=MAX_ACHIEVEMENTS)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    # Later services add their sections here (leaderboards, achievements, queues, events).

    @model_validator(mode="after")
    def _check_achievements(self) -> GameConfig:
        for ach_id, ach in self.achievements.items():
            if ach.stat is not None and ach.stat not in self.stats:
                raise ValueError(f"achievements.{ach_id}.stat: no stat {ach.stat!r}")
            if ach.reward is not None:
                stat = self.stats.get(ach.reward.stat)
                where = f"achievements.{ach_id}.reward"
                if stat is None:
                    raise ValueError(f"{where}.stat: no stat {ach.reward.stat!r}")
                if stat.aggregation != "sum":
                    raise ValueError(f"{where}.stat: a reward increments a sum stat, {ach.reward.stat!r} is {stat.aggregation}")
                if stat.type == "int" and ach.reward.amount != int(ach.reward.amount):
                    raise ValueError(f"{where}.amount: must be a whole number for an int stat")
                if stat.max_delta is not None and abs(ach.reward.amount) > stat.max_delta:
                    raise ValueError(f"{where}.amount: over the stat's max_delta {stat.max_delta:g}")
        return self

    def stat(self, stat_id: str) -> StatDef | None:
        return self.stats.get(stat_id)

    def client_view(self) -> dict[str, Any]:
        """What `GET /config` shows: everything a client may discover."""
        return {
            "game": self.game,
            "stats": {k: v.client_view() for k, v in self.stats.items()},
            "achievements": {k: v.client_view() for k, v in self.achievements.items() if not v.hidden},
        }
