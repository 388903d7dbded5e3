"""The Chalice app: one Blueprint per service, scheduled jobs and stream handlers."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.api import admin, auth, health, openapi, players, saves, seed

app = Chalice(app_name="game-backend")
app.api.binary_types = []  # JSON in, JSON out

for blueprint in (health.bp, auth.bp, players.bp, admin.bp, seed.bp, saves.bp, openapi.bp):
    app.register_blueprint(blueprint)
