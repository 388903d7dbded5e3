"""The game's declarations as the app uses them: plain frozen dataclasses, no pydantic.

The schema (`schema.py`, pydantic) decides what a game may declare; what it accepts
becomes these objects, so a request that reads the config never loads pydantic. Field
names and defaults are the schema's (tests/unit/test_game_config_declarations.py holds it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

KIB = 1024
MIB = 1024 * KIB


def as_json(value: Any) -> Any:
    """A declaration as JSON data (what the schema's `model_dump(mode="json")` gives)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json_field(f, getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    return value


def _json_field(f: dataclasses.Field[Any], value: Any) -> Any:
    # A float field keeps an int default as it is (0), and JSON shows it as a float (0.0).
    if _is_float(f) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return as_json(value)


def _is_float(f: dataclasses.Field[Any]) -> bool:
    return str(f.type).startswith("float")


def _dump(value: Any, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """Fields as the schema's `model_dump()` gives them (nested declarations as dicts)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        if f.name in exclude:
            continue
        item = getattr(value, f.name)
        out[f.name] = _dump(item) if dataclasses.is_dataclass(item) else item
    return out


@dataclass(frozen=True, kw_only=True)
class StatDef:
    """A named player stat."""

    type: Literal["int", "float"] = "int"
    aggregation: Literal["sum", "max", "min", "latest"]
    min: float | None = None
    max: float | None = None
    max_delta: float | None = None
    writer: Literal["client", "server"] = "client"
    client_decrease: bool = True
    default: float = 0
    description: str = ""

    def client_view(self) -> dict[str, Any]:
        return _dump(self, {"description"} if not self.description else set())


@dataclass(frozen=True, kw_only=True)
class BoardDef:
    """A declared leaderboard (see the schema for what each field means)."""

    title: str = ""
    order: Literal["desc", "asc"] = "desc"
    write_mode: Literal["best", "latest", "sum"] = "best"
    reset: Literal["none", "daily", "weekly", "monthly"] = "none"
    min: float = 0
    max: float
    decimals: int = 0
    max_delta: float | None = None
    writer: Literal["client", "server"] = "client"
    source_stat: str | None = None
    direct_scores: bool = False
    counter_shards: int = 4
    index_shards: int = 4
    notify_top: int = 10

    def client_view(self) -> dict[str, Any]:
        return _dump(self, {"counter_shards", "index_shards", "notify_top"})


@dataclass(frozen=True, kw_only=True)
class SkillWindow:
    """How far apart in skill a match may be: min(initial + growth * waited_seconds, max)."""

    initial: float
    growth_per_second: float = 0
    max: float

    def width(self, waited_seconds: float) -> float:
        return min(self.initial + self.growth_per_second * max(waited_seconds, 0.0), self.max)


@dataclass(frozen=True, kw_only=True)
class QueueDef:
    """A matchmaking queue: teams x team_size players (free-for-all of n: n teams of 1)."""

    teams: int
    team_size: int
    max_party_size: int = 1
    regions: list[str]
    skill_stat: str | None = None
    default_rating: float = 1000
    window: SkillWindow
    ticket_timeout_seconds: int = 120
    description: str = ""

    @property
    def match_size(self) -> int:
        return self.teams * self.team_size

    def client_view(self) -> dict[str, Any]:
        return _dump(self, {"description"} if not self.description else set())


@dataclass(frozen=True, kw_only=True)
class AchievementReward:
    """A stat increment given once, on unlock."""

    stat: str
    amount: float


@dataclass(frozen=True, kw_only=True)
class AchievementDef:
    """An achievement: a stat threshold, incremental steps, or manual (server-granted)."""

    title: str
    description: str = ""
    points: int = 0
    hidden: bool = False
    kind: Literal["threshold", "incremental", "manual"]
    stat: str | None = None
    comparison: Literal["at_least", "at_most"] = "at_least"
    target: float | None = None
    client_reports: bool = False
    max_step: int | None = None
    reward: AchievementReward | None = None

    @property
    def step_cap(self) -> int:
        """Most steps one progress report may add."""
        return self.max_step or int(self.target or 1)

    def client_view(self) -> dict[str, Any]:
        return _dump(self, {"client_reports", "max_step"} if self.kind != "incremental" else set())


@dataclass(frozen=True, kw_only=True)
class NotificationsConfig:
    """The inbox: how long a notification (or a broadcast) lives."""

    ttl_days: int = 30


@dataclass(frozen=True, kw_only=True)
class EventsDef:
    """Game events: the types a client may send, their limits, and how long they are kept."""

    types: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    session_start: str | None = None
    max_age_seconds: int = 7 * 86400
    future_skew_seconds: int = 300
    max_data_bytes: int = 4096
    max_data_depth: int = 5
    retention_days: int = 30
    counter_shards: int = 8
    analytics_retention_days: int = 400

    def allows(self, event_type: str) -> bool:
        return event_type in self.types or any(event_type.startswith(p[:-1]) for p in self.patterns)

    def client_view(self) -> dict[str, Any]:
        return _dump(self, {"counter_shards", "analytics_retention_days"})


@dataclass(frozen=True, kw_only=True)
class SavesConfig:
    """Cloud-save limits: slots per player, inline size, S3 object size, URL lifetimes."""

    max_slots: int = 10
    max_inline_bytes: int = 64 * KIB
    max_object_bytes: int = 16 * MIB
    upload_url_seconds: int = 900
    download_url_seconds: int = 900

    def client_view(self) -> dict[str, Any]:
        return _dump(self)


@dataclass(frozen=True, kw_only=True)
class GameConfig:
    """The whole game declaration. Sections are keyed by id."""

    game: str = "game"
    stats: dict[str, StatDef] = field(default_factory=dict)
    leaderboards: dict[str, BoardDef] = field(default_factory=dict)
    queues: dict[str, QueueDef] = field(default_factory=dict)
    achievements: dict[str, AchievementDef] = field(default_factory=dict)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    events: EventsDef = field(default_factory=EventsDef)
    saves: SavesConfig = field(default_factory=SavesConfig)

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


# Building declarations ---------------------------------------------------------------

# Each declaration's nested declarations, by field (a dict field: one per key).
_NESTED: dict[type, dict[str, type]] = {
    QueueDef: {"window": SkillWindow},
    AchievementDef: {"reward": AchievementReward},
    GameConfig: {
        "stats": StatDef,
        "leaderboards": BoardDef,
        "queues": QueueDef,
        "achievements": AchievementDef,
        "notifications": NotificationsConfig,
        "events": EventsDef,
        "saves": SavesConfig,
    },
}
_DICT_FIELDS = frozenset({"stats", "leaderboards", "queues", "achievements"})


def from_checked(cls: type[Any], raw: dict[str, Any]) -> Any:
    """A declaration from JSON data the schema has accepted as it is (never to check it):
    what the schema would give, numbers of float fields as floats, lists of tuple fields
    as tuples, defaults for what is left out."""
    nested = _NESTED.get(cls, {})
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        inner = nested.get(f.name)
        if value is None:
            pass
        elif inner is not None and cls is GameConfig and f.name in _DICT_FIELDS:
            value = {k: from_checked(inner, v) for k, v in value.items()}
        elif inner is not None:
            value = from_checked(inner, value)
        elif _is_float(f) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif str(f.type).startswith("tuple"):
            value = tuple(value)
        elif str(f.type).startswith("list"):
            value = list(value)
        values[f.name] = value
    return cls(**values)


def from_model(cls: type[Any], model: Any) -> Any:
    """A declaration from the schema's validated model of it (fields read as they are)."""
    nested = _NESTED.get(cls, {})
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        value = getattr(model, f.name)
        inner = nested.get(f.name)
        if value is not None and inner is not None:
            if cls is GameConfig and f.name in _DICT_FIELDS:
                value = {k: from_model(inner, v) for k, v in value.items()}
            else:
                value = from_model(inner, value)
        values[f.name] = value
    return cls(**values)
