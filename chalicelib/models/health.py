"""GET /health and GET /config answers."""

from __future__ import annotations

from typing import Any

from chalicelib.models.common import ResponseModel


class HealthView(ResponseModel):
    status: str
    stage: str
    store: str


class ConfigView(ResponseModel):
    game: str
    stats: dict[str, Any]
    leaderboards: dict[str, Any] = {}
    queues: dict[str, Any] = {}
    achievements: dict[str, Any] = {}
    notifications: dict[str, Any] = {}
    events: dict[str, Any] = {}
    saves: dict[str, Any] = {}
