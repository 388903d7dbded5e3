"""The Chalice app: one Blueprint per service and the scheduled jobs."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate

from chalicelib import composition
from chalicelib.api import (
    achievements,
    admin,
    auth,
    console,
    events,
    health,
    http,
    leaderboards,
    matchmaking,
    notifications,
    openapi,
    players,
    realtime,
    saves,
    seed,
)

app = Chalice(app_name="game-backend")
app.api.binary_types = []  # JSON in, JSON out
# Chalice still files its WebSocket support under experimental features: opt in.
app.experimental_feature_flags.update(["WEBSOCKETS"])

# Behind the HTTP API every unrouted method and path reaches the app: answer it in the
# error shape.
app.register_middleware(http.unknown_routes(app.routes), "http")

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


@app.on_ws_connect()
def ws_connect(event: Any) -> dict[str, Any]:
    """WebSocket $connect: verify the token, record the connection (or refuse with 401/403)."""
    return realtime.on_connect(event.to_dict())


@app.on_ws_message()
def ws_message(event: Any) -> dict[str, Any]:
    """WebSocket $default: a client's ping gets a pong."""
    return realtime.on_message(event.to_dict())


@app.on_ws_disconnect()
def ws_disconnect(event: Any) -> dict[str, Any]:
    """WebSocket $disconnect: forget the connection."""
    return realtime.on_disconnect(event.to_dict())


@app.schedule(Rate(1, unit=Rate.MINUTES), name="matchmaking-cleanup")
def matchmaking_cleanup(event: Any) -> None:
    """Every minute: tickets past their timeout become timed_out and leave the index."""
    composition.time_out_tickets()


@app.schedule(Rate(1, unit=Rate.HOURS), name="close-leaderboard-periods")
def close_leaderboard_periods(event: Any) -> None:
    """Archive leaderboard periods that have ended (idempotent; catches up when late)."""
    composition.close_leaderboard_periods()


@app.schedule(Rate(15, unit=Rate.MINUTES), name="erase-again")
def erase_again(event: Any) -> None:
    """Erase deleted accounts a second time, once no request of theirs can still write."""
    composition.erase_deleted_accounts_again()
