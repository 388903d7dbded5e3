"""Schema of the game config: what a game may declare, checked by pydantic at load.

What it accepts becomes the plain declarations the app runs on (declarations.py).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Identifiers of stats, boards, achievements, queues: safe in keys, URLs and logs.
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Strict(BaseModel):
    # Built when the config is first loaded, not at import.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class StatDef(Strict):
    """A named player stat."""

    type: Literal["int", "float"] = "int"
    aggregation: Literal["sum", "max", "min", "latest"]
    min: float | None = None
    max: float | None = None
    # Largest absolute value one request may add (sum) or set (others: unchecked).
    max_delta: float | None = Field(default=None, gt=0)
    writer: Literal["client", "server"] = "client"
    # Sum stats: whether a client may send a negative change (the server always may).
    client_decrease: bool = True
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
        if not self.client_decrease and self.aggregation != "sum":
            raise ValueError("client_decrease applies to sum stats only")
        return self

    def client_view(self) -> dict[str, Any]:
        return self.model_dump(exclude={"description"} if not self.description else set())


# Leaderboards -------------------------------------------------------------------------

# Scores become fixed-width integers in the score index: (max - min) * 10**decimals must fit.
MAX_SCALED_RANGE = 10**15


class BoardDef(Strict):
    """A declared leaderboard. Its order, bounds, decimals and index shards are fixed once
    it holds entries (they shape the stored keys): change them under a new board id."""

    title: str = ""
    order: Literal["desc", "asc"] = "desc"
    write_mode: Literal["best", "latest", "sum"] = "best"
    reset: Literal["none", "daily", "weekly", "monthly"] = "none"
    min: float = 0
    max: float
    decimals: int = Field(default=0, ge=0, le=6)
    # sum boards: the largest change one client submission may add.
    max_delta: float | None = Field(default=None, gt=0)
    writer: Literal["client", "server"] = "client"
    source_stat: Ident | None = None
    # A board with a source_stat refuses direct client scores (403 board_fed_by_stat)
    # unless this allows both.
    direct_scores: bool = False
    # Rank counters every write touches are spread over this many items (may only grow).
    counter_shards: int = Field(default=4, ge=1, le=16)
    # The score index is split over this many partitions; top-N queries each one.
    index_shards: int = Field(default=4, ge=1, le=16)
    # When a period closes, this many top players are told their final rank.
    notify_top: int = Field(default=10, ge=0, le=100)

    @model_validator(mode="after")
    def _check(self) -> BoardDef:
        for name in ("min", "max", "max_delta"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be finite")
        if self.min >= self.max:
            raise ValueError("min must be below max")
        scale = 10**self.decimals
        for name in ("min", "max"):
            scaled = getattr(self, name) * scale
            if abs(scaled - round(scaled)) > 1e-6:
                raise ValueError(f"{name} has more than {self.decimals} decimals")
        if (self.max - self.min) * scale > MAX_SCALED_RANGE:
            raise ValueError(f"(max - min) * 10**decimals must be at most {MAX_SCALED_RANGE:.0e}")
        if self.max_delta is not None and self.write_mode != "sum":
            raise ValueError("max_delta applies to sum boards only")
        return self

    def client_view(self) -> dict[str, Any]:
        return self.model_dump(exclude={"counter_shards", "index_shards", "notify_top"})


# Matchmaking queues ------------------------------------------------------------------

# Regions are the game's own names for where servers run, e.g. "eu-west-1".
Region = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,39}$")]

# A match is claimed in one transaction: one action per ticket, the match and a wait sample.
MAX_MATCH_PLAYERS = 64


class SkillWindow(Strict):
    """How far apart in skill a match may be: min(initial + growth * waited_seconds, max)."""

    initial: float = Field(ge=0, allow_inf_nan=False)
    growth_per_second: float = Field(default=0, ge=0, allow_inf_nan=False)
    max: float = Field(ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _check(self) -> SkillWindow:
        if self.max < self.initial:
            raise ValueError("max is smaller than initial")
        return self

    def width(self, waited_seconds: float) -> float:
        return min(self.initial + self.growth_per_second * max(waited_seconds, 0.0), self.max)


class QueueDef(Strict):
    """A matchmaking queue: teams x team_size players (free-for-all of n: n teams of 1)."""

    teams: int = Field(ge=2, le=MAX_MATCH_PLAYERS)
    team_size: int = Field(ge=1, le=MAX_MATCH_PLAYERS // 2)
    max_party_size: int = Field(default=1, ge=1)
    regions: list[Region] = Field(min_length=1, max_length=32)
    # The stat giving a player's skill; None: everyone has default_rating.
    skill_stat: Ident | None = None
    default_rating: float = Field(default=1000, allow_inf_nan=False)
    window: SkillWindow
    ticket_timeout_seconds: int = Field(default=120, ge=10, le=3600)
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> QueueDef:
        if self.teams * self.team_size > MAX_MATCH_PLAYERS:
            raise ValueError(f"a match holds at most {MAX_MATCH_PLAYERS} players")
        if self.max_party_size > self.team_size:
            raise ValueError("max_party_size is larger than team_size (a party plays in one team)")
        if len(set(self.regions)) != len(self.regions):
            raise ValueError("regions has duplicates")
        return self

    @property
    def match_size(self) -> int:
        return self.teams * self.team_size

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
    leaderboards: dict[Ident, BoardDef] = Field(default_factory=dict)
    queues: dict[Ident, QueueDef] = Field(default_factory=dict)
    achievements: dict[Ident, AchievementDef] = Field(default_factory=dict, max_length=MAX_ACHIEVEMENTS)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    events: EventsDef = Field(default_factory=EventsDef)
    saves: SavesConfig = Field(default_factory=SavesConfig)

    @model_validator(mode="after")
    def _check_boards(self) -> GameConfig:
        for board_id, board in self.leaderboards.items():
            if board.source_stat is None:
                continue
            where = f"leaderboards.{board_id}.source_stat"
            stat = self.stats.get(board.source_stat)
            if stat is None:
                raise ValueError(f"{where}: unknown stat {board.source_stat!r}")
            if board.writer == "server" and stat.writer != "server":
                raise ValueError(f"{where}: a server-only board cannot follow a client-writable stat")
            if board.write_mode == "sum":
                if stat.aggregation != "sum":
                    raise ValueError(f"{where}: a sum board follows the changes of a sum stat")
            elif stat.aggregation == "sum":
                raise ValueError(f"{where}: a sum stat feeds a sum board (with reset none for an all-time total)")
            elif board.write_mode == "latest" and stat.aggregation != "latest":
                raise ValueError(f"{where}: a latest board follows a latest stat")
            elif stat.min is None or stat.max is None or stat.min < board.min or stat.max > board.max:
                raise ValueError(f"{where}: the stat's bounds must lie within the board's [min, max]")
        return self

    @model_validator(mode="after")
    def _check_queues(self) -> GameConfig:
        for queue_id, queue in self.queues.items():
            if queue.skill_stat is not None and queue.skill_stat not in self.stats:
                raise ValueError(f"queues.{queue_id}.skill_stat: unknown stat {queue.skill_stat!r}")
        return self

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
                    raise ValueError(
                        f"{where}.stat: a reward increments a sum stat, {ach.reward.stat!r} is {stat.aggregation}"
                    )
                if stat.type == "int" and ach.reward.amount != int(ach.reward.amount):
                    raise ValueError(f"{where}.amount: must be a whole number for an int stat")
                if stat.max_delta is not None and abs(ach.reward.amount) > stat.max_delta:
                    raise ValueError(f"{where}.amount: over the stat's max_delta {stat.max_delta:g}")
                fed = [b for b, d in self.leaderboards.items() if d.source_stat == ach.reward.stat]
                if fed:
                    # The unlock's transaction does not carry the board's entry.
                    raise ValueError(f"{where}.stat: {ach.reward.stat!r} feeds the leaderboard {fed[0]!r}")
        return self

    def stat(self, stat_id: str) -> StatDef | None:
        return self.stats.get(stat_id)

    def board(self, board_id: str) -> BoardDef | None:
        return self.leaderboards.get(board_id)

    def client_view(self) -> dict[str, Any]:
        """What `GET /config` shows: everything a client may discover."""
        return {
            "game": self.game,
            "stats": {k: v.client_view() for k, v in self.stats.items()},
            "leaderboards": {k: v.client_view() for k, v in self.leaderboards.items()},
            "queues": {k: v.client_view() for k, v in self.queues.items()},
            "achievements": {k: v.client_view() for k, v in self.achievements.items() if not v.hidden},
            "events": self.events.client_view(),
            "saves": self.saves.client_view(),
        }
