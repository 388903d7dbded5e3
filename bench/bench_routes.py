"""Every player route once, warm, on the stand-in: AWS requests, DynamoDB read and write
units per call (units from item sizes, see bench.units; moto's ConsumedCapacity is a
fixed figure per operation).

Figures: `routes.<method>.<path>.requests` (DynamoDB requests), `.read_units`,
`.write_units`, `.other_requests` (S3 and Cognito), with `{...}` path parts by name.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from bench.harness import Figure
from bench.session import Player, Stage, Used, app_on_standin


def _name(method: str, path: str) -> str:
    bare = path.split("?")[0].strip("/")
    return f"routes.{method.lower()}." + re.sub(r"[^a-z0-9{}]+", "_", bare)


def run() -> list[Figure]:
    figures: list[Figure] = []
    with app_on_standin(realtime=True) as stage:
        me, other = stage.guest(), stage.guest()
        figures += _routes(stage, me, other)
        figures += _other_routes(stage, me, other)
        figures += _websocket(stage, me)
    return figures


def _figures(name: str, used: Used) -> list[Figure]:
    return [
        Figure(f"{name}.requests", used.dynamodb_requests, "requests"),
        Figure(f"{name}.read_units", used.read_units, "units"),
        Figure(f"{name}.write_units", used.write_units, "units"),
        Figure(f"{name}.other_requests", used.requests.get("s3", 0) + used.requests.get("cognito-idp", 0), "requests"),
    ]


SEED = {"playerId": "ignored", "headers": {}, "timestamp": 1795555000}
BLOB = b'{"coins":120,"level":3}'  # canonical JSON: sorted keys, no spaces


def _other_routes(stage: Stage, me: Player, other: Player) -> list[Figure]:
    """Every other route of the app once (after _routes), so that none goes unmeasured:
    the rest of the player routes, the seed client's routes, the admin routes and the
    console. `routes.unmeasured` counts the routes neither measured nor answering 2xx."""
    figures: list[Figure] = []
    admin = stage.admin()
    leaver, banned = stage.guest(), stage.guest()
    ids: dict[str, str] = {}

    leader, member = stage.guest(), stage.guest()  # a party (neither has a ticket yet)

    def ticket() -> str:
        if "ticket" not in ids:
            body = {"queue": "squads", "region": "eu-west-1", "party": [member.player_id]}
            ids["ticket"] = stage.call("POST", "/matchmaking/tickets", body, leader).body["ticket_id"]
        return ids["ticket"]

    def notification() -> str:
        items = stage.call("GET", "/notifications", None, me).body["notifications"]
        return str(items[0]["id"])

    def match() -> str:
        for p in (leader, member):
            answer = stage.call("POST", "/matchmaking/tickets", {"queue": "standard", "region": "eu-west-1"}, p)
        return str(answer.body["match_id"])

    def upload() -> dict[str, Any]:
        version = stage.call("GET", "/saves/main", None, me).body["version"]
        ids["version"] = str(version)
        return {"expected_version": version, "size": len(BLOB), "sha256": hashlib.sha256(BLOB).hexdigest()}

    def uploaded(answer: dict[str, Any]) -> None:
        """What the client does with the upload's answer: PUT the bytes to its URL."""
        ids["upload"] = answer["upload_id"]
        put = requests.put(answer["url"], data=BLOB, headers=answer["headers"], timeout=60)
        put.raise_for_status()

    # (method, route, path, body, caller); bodies and paths are called just before their call
    plan: list[tuple[str, str, Callable[[], str], Callable[[], Any], Player | None]] = [
        ("GET", "/health", lambda: "/health", lambda: None, None),
        ("GET", "/openapi.json", lambda: "/openapi.json", lambda: None, None),
        ("GET", "/console", lambda: "/console", lambda: None, None),
        ("GET", "/console/{asset}", lambda: "/console/console.js", lambda: None, None),
        (
            "POST",
            "/achievements/{achievement_id}/progress",
            lambda: "/achievements/explorer/progress",
            lambda: {"steps": 1},
            me,
        ),
        (
            "POST",
            "/matchmaking/tickets/{ticket_id}/join",
            lambda: f"/matchmaking/tickets/{ticket()}/join",
            lambda: {},
            member,
        ),
        (
            "DELETE",
            "/matchmaking/tickets/{ticket_id}",
            lambda: f"/matchmaking/tickets/{ticket()}",
            lambda: None,
            leader,
        ),
        ("GET", "/matchmaking/matches/{match_id}", lambda: f"/matchmaking/matches/{match()}", lambda: None, member),
        ("POST", "/notifications/read", lambda: "/notifications/read", lambda: {"all": True}, me),
        ("DELETE", "/notifications/{notification_id}", lambda: f"/notifications/{notification()}", lambda: None, me),
        ("POST", "/saves/{slot}/upload", lambda: "/saves/main/upload", upload, me),
        (
            "POST",
            "/saves/{slot}/commit",
            lambda: "/saves/main/commit",
            lambda: {"upload_id": ids["upload"], "expected_version": int(ids["version"])},
            me,
        ),
        ("DELETE", "/saves/{slot}", lambda: f"/saves/spare?expected_version={ids.get('spare', 0)}", lambda: None, me),
        (
            "POST",
            "/player-stats",
            lambda: "/player-stats",
            lambda: {**SEED, "functionName": "player-stats", "payload": {"kills": 1}},
            me,
        ),
        (
            "POST",
            "/leaderboard",
            lambda: "/leaderboard",
            lambda: {
                **SEED,
                "functionName": "leaderboard",
                "payload": {"leaderboard_type": "daily_score", "limit": 10},
            },
            me,
        ),
        (
            "POST",
            "/achievements",
            lambda: "/achievements",
            lambda: {**SEED, "functionName": "achievements", "payload": {"action": "list"}},
            me,
        ),
        (
            "POST",
            "/matchmaking",
            lambda: "/matchmaking",
            lambda: {**SEED, "functionName": "matchmaking", "payload": {"action": "status"}},
            me,
        ),
        (
            "POST",
            "/game-events",
            lambda: "/game-events",
            lambda: {
                **SEED,
                "functionName": "game-events",
                "payload": {"events": [{"eventType": "level_start", "timestamp": time.time(), "eventData": {}}]},
            },
            me,
        ),
        (
            "POST",
            "/user-progress",
            lambda: "/user-progress",
            lambda: {**SEED, "functionName": "user-progress", "payload": {"action": "list"}},
            me,
        ),
        ("POST", "/analytics", lambda: "/analytics", lambda: {**SEED, "functionName": "analytics", "payload": {}}, me),
        (
            "POST",
            "/notifications",
            lambda: "/notifications",
            lambda: {**SEED, "functionName": "notifications", "payload": {"action": "unread_count"}},
            me,
        ),
        ("GET", "/admin/players", lambda: f"/admin/players?q={other.player_id}", lambda: None, admin),
        ("GET", "/admin/players/{player_id}", lambda: f"/admin/players/{other.player_id}", lambda: None, admin),
        (
            "PATCH",
            "/admin/players/{player_id}",
            lambda: f"/admin/players/{other.player_id}",
            lambda: {"display_name": "Renamed Player"},
            admin,
        ),
        (
            "GET",
            "/admin/players/{player_id}/stats",
            lambda: f"/admin/players/{other.player_id}/stats",
            lambda: None,
            admin,
        ),
        (
            "POST",
            "/admin/players/{player_id}/stats",
            lambda: f"/admin/players/{other.player_id}/stats",
            lambda: {"updates": {"rating": 1250}},
            admin,
        ),
        (
            "GET",
            "/admin/players/{player_id}/achievements",
            lambda: f"/admin/players/{other.player_id}/achievements",
            lambda: None,
            admin,
        ),
        (
            "POST",
            "/admin/players/{player_id}/achievements/{achievement_id}/progress",
            lambda: f"/admin/players/{other.player_id}/achievements/tournament_champion/progress",
            lambda: {"steps": 1},
            admin,
        ),
        (
            "POST",
            "/admin/achievements/{achievement_id}/grant",
            lambda: "/admin/achievements/founder/grant",
            lambda: {"player_id": other.player_id},
            admin,
        ),
        (
            "GET",
            "/admin/players/{player_id}/saves",
            lambda: f"/admin/players/{me.player_id}/saves",
            lambda: None,
            admin,
        ),
        (
            "GET",
            "/admin/players/{player_id}/saves/{slot}",
            lambda: f"/admin/players/{me.player_id}/saves/main",
            lambda: None,
            admin,
        ),
        (
            "GET",
            "/admin/players/{player_id}/notifications",
            lambda: f"/admin/players/{me.player_id}/notifications",
            lambda: None,
            admin,
        ),
        (
            "POST",
            "/admin/notifications",
            lambda: "/admin/notifications",
            lambda: {"player_id": other.player_id, "title": "Hello"},
            admin,
        ),
        (
            "GET",
            "/admin/players/{player_id}/status",
            lambda: f"/admin/players/{banned.player_id}/status",
            lambda: None,
            admin,
        ),
        (
            "POST",
            "/admin/players/{player_id}/ban",
            lambda: f"/admin/players/{banned.player_id}/ban",
            lambda: {"reason": "bench"},
            admin,
        ),
        (
            "POST",
            "/admin/players/{player_id}/unban",
            lambda: f"/admin/players/{banned.player_id}/unban",
            lambda: {"reason": "bench"},
            admin,
        ),
        (
            "DELETE",
            "/admin/leaderboards/{board_id}/entries/{player_id}",
            lambda: f"/admin/leaderboards/daily_score/entries/{me.player_id}",
            lambda: None,
            admin,
        ),
        ("GET", "/admin/matchmaking", lambda: "/admin/matchmaking", lambda: None, admin),
        ("GET", "/admin/config", lambda: "/admin/config", lambda: None, admin),
        ("GET", "/admin/audit", lambda: "/admin/audit?limit=10", lambda: None, admin),
        ("GET", "/admin/analytics/summary", lambda: "/admin/analytics/summary", lambda: None, admin),
        (
            "POST",
            "/auth/upgrade",
            lambda: "/auth/upgrade",
            lambda: {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "correct horse battery"},
            leaver,
        ),
        ("DELETE", "/admin/players/{player_id}", lambda: f"/admin/players/{banned.player_id}", lambda: None, admin),
        ("DELETE", "/players/me", lambda: "/players/me", lambda: None, leaver),
    ]
    spare = stage.call("PUT", "/saves/spare", {"data": {"a": 1}, "expected_version": 0}, me)
    ids["spare"] = str(spare.body["version"])
    measured = {(m, r) for m, r, _, _, _ in plan} | _MEASURED
    failed: list[str] = []
    for method, route, path, body, caller in plan:
        try:
            used = stage.call(method, path(), body(), caller, check=False)
            if route == "/saves/{slot}/upload" and used.status < 400:
                uploaded(used.body)
        except (RuntimeError, KeyError, IndexError) as exc:
            failed.append(f"{method} {route} ({exc})")
            continue
        if used.status >= 400:
            failed.append(f"{method} {route} ({used.status}: {str(used.body)[:160]})")
            continue
        figures += _figures(_name(method, route), used)
    declared = {(m, r) for r, methods in stage.app.routes.items() for m in methods}
    missing = sorted(f"{m} {r}" for m, r in declared - measured)
    for line in failed + [f"{m} (no call)" for m in missing]:
        print(f"# routes unmeasured: {line}", file=sys.stderr)
    figures.append(Figure("routes.unmeasured", len(failed) + len(missing), "routes"))
    return figures


def _websocket(stage: Stage, player: Player) -> list[Figure]:
    """The WebSocket API's three routes, through the local gateway."""
    socket, connected = stage.ws_connect(player)
    pinged = stage.ws_ping(socket)
    gone = stage.ws_disconnect(socket)
    return (
        _figures("routes.ws.connect", connected)
        + _figures("routes.ws.ping", pinged)
        + [Figure("routes.ws.ping.pushes", pinged.requests.get("apigatewaymanagementapi", 0), "messages")]
        + _figures("routes.ws.disconnect", gone)
    )


_MEASURED = {
    ("POST", "/auth/guest"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("GET", "/config"),
    ("GET", "/players/me"),
    ("PATCH", "/players/me"),
    ("POST", "/players/me/stats"),
    ("GET", "/players/me/stats"),
    ("GET", "/leaderboards"),
    ("POST", "/leaderboards/{board_id}/scores"),
    ("GET", "/leaderboards/{board_id}"),
    ("GET", "/leaderboards/{board_id}/me"),
    ("GET", "/leaderboards/{board_id}/players"),
    ("GET", "/leaderboards/{board_id}/periods"),
    ("GET", "/achievements"),
    ("GET", "/notifications"),
    ("POST", "/events"),
    ("PUT", "/saves/{slot}"),
    ("GET", "/saves/{slot}"),
    ("GET", "/saves"),
    ("POST", "/matchmaking/tickets"),
    ("GET", "/matchmaking/tickets/{ticket_id}"),
}


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
        ("/leaderboards/{board_id}/scores", "POST", lambda: "/leaderboards/daily_score/scores", {"score": 4321}, 1),
        ("/leaderboards/{board_id}", "GET", lambda: "/leaderboards/daily_score?limit=10", None, 1),
        ("/leaderboards/{board_id}/me", "GET", lambda: "/leaderboards/daily_score/me?around=5", None, 1),
        (
            "/leaderboards/{board_id}/players",
            "GET",
            lambda: f"/leaderboards/daily_score/players?ids={me.player_id},{other.player_id}",
            None,
            1,
        ),
        ("/leaderboards/{board_id}/periods", "GET", lambda: "/leaderboards/daily_score/periods", None, 1),
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
        name = _name("GET", "/matchmaking/tickets/{ticket_id}")
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
