"""Every player route once, warm, on the stand-in: AWS requests, DynamoDB read and write
units per call (units from item sizes, see bench.units; moto's ConsumedCapacity is a
fixed figure per operation).

Figures: `routes.<method>.<path>.requests` (DynamoDB requests), `.read_units`,
`.write_units`, `.other_requests` (S3 and Cognito), with `{...}` path parts by name.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.harness import Figure
from bench.session import Player, Stage, Used, app_on_standin


def _name(method: str, path: str) -> str:
    bare = path.split("?")[0].strip("/")
    return f"routes.{method.lower()}." + re.sub(r"[^a-z0-9{}]+", "_", bare)


def run() -> list[Figure]:
    figures: list[Figure] = []
    with app_on_standin() as stage:
        me, other = stage.guest(), stage.guest()
        figures += _routes(stage, me, other)
    return figures


def _routes(stage: Stage, me: Player, other: Player) -> list[Figure]:
    figures: list[Figure] = []
    state: dict[str, Any] = {"version": 0}
    now = time.time()

    def events() -> dict[str, Any]:
        return {"events": [{"event_id": uuid.uuid4().hex, "type": "level_start", "timestamp": now} for _ in range(10)]}

    def save() -> dict[str, Any]:
        return {"data": {"level": 3, "blob": "x" * 1000}, "expected_version": state["version"]}

    stats = {"updates": {"kills": 2, "xp": 40, "matches_played": 1}}
    # (figure path, method, path, body, warm-up calls before the measured one)
    routes: list[tuple[str, str, Callable[[], str], Any, int]] = [
        ("/auth/guest", "POST", lambda: "/auth/guest", {}, 0),
        ("/auth/login", "POST", lambda: "/auth/login", {"username": me.username, "password": me.password}, 0),
        ("/auth/refresh", "POST", lambda: "/auth/refresh", {"refresh_token": me.refresh_token}, 0),
        ("/config", "GET", lambda: "/config", None, 1),
        ("/players/me", "GET", lambda: "/players/me", None, 1),
        ("/players/me", "PATCH", lambda: "/players/me", {"display_name": "Bench Player"}, 1),
        ("/players/me/stats", "POST", lambda: "/players/me/stats", stats, 1),
        ("/players/me/stats", "GET", lambda: "/players/me/stats", None, 1),
        ("/leaderboards", "GET", lambda: "/leaderboards", None, 1),
        ("/leaderboards/{id}/scores", "POST", lambda: "/leaderboards/daily_score/scores", {"score": 4321}, 1),
        ("/leaderboards/{id}", "GET", lambda: "/leaderboards/daily_score?limit=10", None, 1),
        ("/leaderboards/{id}/me", "GET", lambda: "/leaderboards/daily_score/me?around=5", None, 1),
        (
            "/leaderboards/{id}/players",
            "GET",
            lambda: f"/leaderboards/daily_score/players?ids={me.player_id},{other.player_id}",
            None,
            1,
        ),
        ("/leaderboards/{id}/periods", "GET", lambda: "/leaderboards/daily_score/periods", None, 1),
        ("/achievements", "GET", lambda: "/achievements", None, 1),
        ("/notifications", "GET", lambda: "/notifications", None, 1),
        ("/events", "POST", lambda: "/events", None, 1),
        ("/saves/{slot}", "PUT", lambda: "/saves/main", None, 1),
        ("/saves/{slot}", "GET", lambda: "/saves/main", None, 1),
        ("/saves", "GET", lambda: "/saves", None, 1),
        ("/matchmaking/tickets", "POST", lambda: "/matchmaking/tickets", {"queue": "duel", "region": "us-east-1"}, 0),
    ]
    for label, method, path, body, warm in routes:
        try:
            used: Used | None = None
            for _ in range(warm + 1):
                payload = events() if label == "/events" else save() if method == "PUT" else body
                used = stage.call(method, path(), payload, me)
                if method == "PUT":
                    state["version"] = used.body["version"]
            assert used is not None
        except RuntimeError as exc:
            print(f"# routes {method} {label}: not measured ({exc})", file=sys.stderr)
            continue
        name = _name(method, label)
        if label == "/matchmaking/tickets":
            state["ticket"] = used.body["ticket_id"]
        figures += [
            Figure(f"{name}.requests", used.dynamodb_requests, "requests"),
            Figure(f"{name}.read_units", used.read_units, "units"),
            Figure(f"{name}.write_units", used.write_units, "units"),
            Figure(
                f"{name}.other_requests", used.requests.get("s3", 0) + used.requests.get("cognito-idp", 0), "requests"
            ),
        ]
    if "ticket" in state:
        used = stage.call("GET", f"/matchmaking/tickets/{state['ticket']}", None, me)
        name = _name("GET", "/matchmaking/tickets/{id}")
        figures += [
            Figure(f"{name}.requests", used.dynamodb_requests, "requests"),
            Figure(f"{name}.read_units", used.read_units, "units"),
            Figure(f"{name}.write_units", used.write_units, "units"),
        ]
    used, delivered = stage.deliver_streams()
    if delivered:
        figures += [
            Figure("routes.stream.events.write_units_per_record", used.write_units / delivered, "units"),
            Figure("routes.stream.events.requests_per_record", used.dynamodb_requests / delivered, "requests"),
        ]
    return figures
