"""GET /health and GET /config: liveness and the client-visible game config."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.config import get_settings

bp = Blueprint(__name__)


@route(bp, "/health", auth="none", response="chalicelib.models.health:HealthView", tags=("health",), errors=(503,))
def health(call: Call) -> dict[str, Any]:
    """Liveness: the app answers and its store is reachable (one GetItem)."""
    composition.players_repo().get_profile("health-check")
    return {"status": "ok", "stage": get_settings().stage, "store": "ok"}


@route(bp, "/config", response="chalicelib.models.health:ConfigView", tags=("config",))
def game_config(call: Call) -> dict[str, Any]:
    """The client-visible part of the game config: stats, boards, achievements, queues."""
    return composition.game_config().client_view()
