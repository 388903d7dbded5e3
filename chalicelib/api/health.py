"""GET /health and GET /config: liveness and the client-visible game config."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.config import get_settings
from chalicelib.models.common import ResponseModel

bp = Blueprint(__name__)


class HealthView(ResponseModel):
    status: str
    stage: str
    store: str


@route(bp, "/health", auth="none", response=HealthView, tags=("health",), errors=(503,))
def health(call: Call) -> dict[str, Any]:
    """Liveness: the app answers and its store is reachable (one GetItem)."""
    composition.players_repo().get_profile("health-check")
    return {"status": "ok", "stage": get_settings().stage, "store": "ok"}


class ConfigView(ResponseModel):
    game: str
    stats: dict[str, Any]
    leaderboards: dict[str, Any] = {}
    queues: dict[str, Any] = {}
    achievements: dict[str, Any] = {}
    notifications: dict[str, Any] = {}
    events: dict[str, Any] = {}
    saves: dict[str, Any] = {}


@route(bp, "/config", response=ConfigView, tags=("config",))
def game_config(call: Call) -> dict[str, Any]:
    """The client-visible part of the game config: stats, boards, achievements, queues."""
    return composition.game_config().client_view()
