"""The Chalice app: one Blueprint per service, scheduled jobs and stream handlers."""

from __future__ import annotations

from typing import Any

from chalice import Chalice

from chalicelib.api import admin, auth, events, health, openapi, players, seed
from chalicelib.config import get_settings

app = Chalice(app_name="game-backend")
app.api.binary_types = []  # JSON in, JSON out

for blueprint in (health.bp, auth.bp, players.bp, admin.bp, seed.bp, openapi.bp, events.bp):
    app.register_blueprint(blueprint)


@app.on_dynamodb_record(
    stream_arn=get_settings().stream_arn("events"), batch_size=100, starting_position="TRIM_HORIZON"
)
def count_events(event: Any) -> None:
    """The events stream: count first inserts into the daily analytics."""
    events.count_stream_records(event.to_dict().get("Records", []))
