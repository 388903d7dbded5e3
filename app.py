"""The Chalice app: one Blueprint per service, scheduled jobs and stream handlers."""

from __future__ import annotations

from chalice import Chalice, Rate

from chalicelib.api import admin, auth, health, leaderboards, players, seed
from chalicelib.services import leaderboards as leaderboard_service

app = Chalice(app_name="game-backend")
app.api.binary_types = []  # JSON in, JSON out

for blueprint in (health.bp, auth.bp, players.bp, admin.bp, seed.bp, leaderboards.bp):
    app.register_blueprint(blueprint)


@app.schedule(Rate(1, unit=Rate.HOURS), name="close-leaderboard-periods")
def close_leaderboard_periods(event: object) -> None:
    """Archive leaderboard periods that have ended (idempotent; catches up when late)."""
    leaderboard_service.close_periods_job()
