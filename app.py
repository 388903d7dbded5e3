"""The Chalice app: one Blueprint per service and the scheduled jobs."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate

from chalicelib.api import (
    achievements,
    admin,
    auth,
    console,
    events,
    health,
    leaderboards,
    matchmaking,
    notifications,
    openapi,
    players,
    saves,
    seed,
)
from chalicelib.services import leaderboards as leaderboard_service
from chalicelib.services import matchmaking as matchmaking_service

app = Chalice(app_name="game-backend")
app.api.binary_types = []  # JSON in, JSON out

for blueprint in (
    health.bp,
    auth.bp,
    players.bp,
    admin.bp,
    seed.bp,
    openapi.bp,
    leaderboards.bp,
    matchmaking.bp,
    achievements.bp,
    notifications.bp,
    events.bp,
    saves.bp,
    console.bp,
):
    app.register_blueprint(blueprint)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="matchmaking-cleanup")
def matchmaking_cleanup(event: Any) -> None:
    """Every minute: tickets past their timeout become timed_out and leave the index."""
    matchmaking_service.scheduled_cleanup()


@app.schedule(Rate(1, unit=Rate.HOURS), name="close-leaderboard-periods")
def close_leaderboard_periods(event: Any) -> None:
    """Archive leaderboard periods that have ended (idempotent; catches up when late)."""
    leaderboard_service.close_periods_job()

