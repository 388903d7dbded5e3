"""The Chalice app: one Blueprint per service, scheduled jobs and stream handlers."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate

from chalicelib.api import admin, auth, health, matchmaking, openapi, players, seed
from chalicelib.services import matchmaking as matchmaking_service

app = Chalice(app_name="game-backend")
app.api.binary_types = []  # JSON in, JSON out

for blueprint in (health.bp, auth.bp, players.bp, admin.bp, seed.bp, openapi.bp, matchmaking.bp):
    app.register_blueprint(blueprint)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def matchmaking_cleanup(event: Any) -> None:
    """Every minute: tickets past their timeout become timed_out and leave the index."""
    matchmaking_service.scheduled_cleanup()
