"""Achievement requests and views."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.models.common import RequestModel, ResponseModel

AchievementId = str


class AchievementReward(ResponseModel):
    stat: str
    amount: float


class AchievementView(ResponseModel):
    """An achievement for the caller; a hidden, locked one has no title, description or progress."""

    id: str
    kind: Literal["threshold", "incremental", "manual"]
    hidden: bool
    title: str | None
    description: str | None
    points: int
    stat: str | None = None
    comparison: Literal["at_least", "at_most"] | None = None
    progress: float | None = Field(default=None, description="Current value or steps, shown as progress/target")
    target: float | None = None
    unlocked: bool
    unlocked_at: str | None = None
    rarity_percent: float = Field(description="Percent of players who unlocked it")
    reward: AchievementReward | None = None


class AchievementList(ResponseModel):
    player_id: str
    achievements: list[AchievementView]
    unlocked_count: int
    points_earned: int
    points_total: int
    players_counted: int


class ProgressReport(RequestModel):
    steps: int = Field(default=1, ge=1, le=1_000_000, strict=True)


class ProgressResult(ResponseModel):
    achievement: AchievementView
    unlocked_now: bool
    applied: bool = Field(description="False when the achievement was already unlocked: nothing changed")


class GrantRequest(RequestModel):
    player_id: str = Field(min_length=1, max_length=128)


class GrantResult(ResponseModel):
    player_id: str
    granted: bool = Field(description="False when the player already had it")
    achievement: AchievementView


class SeedAchievementsPayload(RequestModel):
    action: Literal["list", "get", "progress"] = "list"
    achievement_id: str | None = Field(default=None, min_length=1, max_length=40)
    steps: int = Field(default=1, ge=1, le=1_000_000, strict=True)
