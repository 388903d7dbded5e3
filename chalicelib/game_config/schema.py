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


class GameConfig(Strict):
    """The whole game declaration. Sections are keyed by id."""

    game: Ident = "game"
    stats: dict[Ident, StatDef] = Field(default_factory=dict)
    leaderboards: dict[Ident, BoardDef] = Field(default_factory=dict)
    # Later services add their sections here (leaderboards, achievements, queues, events).

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
            elif stat.min is None or stat.max is None or stat.min < board.min or stat.max > board.max:
                raise ValueError(f"{where}: the stat's bounds must lie within the board's [min, max]")
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
        }
