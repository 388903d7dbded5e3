"""Example request bodies for the OpenAPI document, checked against the routes' models by a test."""

from __future__ import annotations

from typing import Any

_UPLOAD_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/auth/guest"): {},
    ("POST", "/auth/login"): {"username": "ace@example.com", "password": "correct horse battery"},
    ("POST", "/auth/refresh"): {"refresh_token": "eyJjdHkiOiJKV1QiLCJlbmMi..."},
    ("POST", "/auth/upgrade"): {"email": "ace@example.com", "password": "correct horse battery"},
    ("PATCH", "/players/me"): {"display_name": "Ace Pilot"},
    ("PATCH", "/admin/players/{player_id}"): {"display_name": "Renamed Player"},
    ("POST", "/players/me/stats"): {"updates": {"kills": 3, "high_score": 1200, "level": 4}},
    ("POST", "/admin/players/{player_id}/stats"): {"updates": {"rating": 1250}},
    ("POST", "/leaderboards/{board_id}/scores"): {"score": 1200},
    ("POST", "/matchmaking/tickets"): {"queue": "duel", "region": "eu-west-1"},
    ("POST", "/achievements/{achievement_id}/progress"): {"steps": 1},
    ("POST", "/notifications/read"): {"all": True},
    ("POST", "/events"): {
        "events": [
            {
                "event_id": "3f1c2a9e-5b7d-4e21-9a0c-1d2e3f4a5b6c",
                "type": "level_start",
                "timestamp": 1795555000,
                "session_id": "s-42",
                "data": {"level": 3},
            }
        ]
    },
    ("POST", "/admin/players/{player_id}/achievements/{achievement_id}/progress"): {"steps": 1},
    ("POST", "/admin/players/{player_id}/ban"): {"reason": "cheating: impossible scores on 2026-11-30"},
    ("POST", "/admin/players/{player_id}/unban"): {"reason": "appeal accepted"},
    ("PUT", "/saves/{slot}"): {"data": {"level": 3, "coins": 120}, "expected_version": 0},
    ("POST", "/saves/{slot}/upload"): {"expected_version": 1, "size": 4, "sha256": _UPLOAD_SHA},
    ("POST", "/player-stats"): {
        "functionName": "player-stats",
        "playerId": "ignored",
        "payload": {"kills": 1},
        "headers": {},
        "timestamp": 1795555000,
    },
}
