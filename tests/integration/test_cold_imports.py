"""`import app` declares routes only; a route's first call loads its own services, no others.

Each check runs in a fresh process (this one has imported everything long ago): the app
is imported, then called as Lambda calls it, and the process reports what it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import Player

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def _game_json_checked() -> None:
    """As `make` does before running anything: the shipped game.json checked and recorded."""
    from chalicelib.game_config import check_game_config

    check_game_config()


PROBE = """
import json, sys

from bench.cold_start_child import LambdaContext, proxy_event

import app

WATCHED = ("chalicelib", "boto3", "botocore", "pydantic")
loaded = {"after_import": sorted(m for m in sys.modules if m.startswith(WATCHED))}
request = json.loads(sys.argv[1])
if request:
    response = app.app(proxy_event(**request), LambdaContext())
    loaded["status"] = response["statusCode"]
    loaded["after_request"] = sorted(m for m in sys.modules if m.startswith(WATCHED))
print(json.dumps(loaded))
"""

# Services no route needs before it runs.
EVERY_SERVICE = {
    f"chalicelib.services.{name}"
    for name in (
        "account_status",
        "achievements",
        "admin",
        "analytics",
        "audit",
        "auth",
        "erasure",
        "events",
        "hooks",
        "leaderboards",
        "matchmaking",
        "notifications",
        "notify",
        "periods",
        "players",
        "realtime",
        "saves",
        "stats",
    )
}


def _run(request: dict[str, Any] | None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(request)],
        cwd=PROJECT_DIR,
        env=dict(os.environ),  # the stand-in's endpoint and names
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _services(modules: list[str]) -> set[str]:
    return {m for m in modules if m.startswith("chalicelib.services.")}


def test_import_app_loads_no_service_repository_model_or_aws_sdk(standin: Any) -> None:
    loaded = _run(None)["after_import"]
    assert not _services(loaded) & EVERY_SERVICE
    # Routes name their models; the models (and pydantic) load when a route first runs.
    assert not [m for m in loaded if m.startswith("chalicelib.models")]
    assert "pydantic" not in loaded
    assert not [
        m
        for m in loaded
        if m.startswith("chalicelib.storage.")
        and m
        not in (
            "chalicelib.storage.errors",  # ClientError -> domain error, used by the route wrapper
            "chalicelib.storage.schema",  # limits shared with request models
        )
    ]
    assert "boto3" not in loaded
    assert "chalicelib.composition" in loaded  # routes get their dependencies there


def test_get_players_me_loads_the_players_service_only(standin: Any, new_player: Callable[[], Player]) -> None:
    player = new_player()
    loaded = _run({"method": "GET", "path": "/players/me", "headers": player.auth})
    assert loaded["status"] == 200
    services = _services(loaded["after_request"])
    assert {"chalicelib.services.account_status", "chalicelib.services.players"} <= services
    assert "pydantic" not in loaded["after_request"]  # no body to validate, no model to build
    assert "boto3" not in loaded["after_request"]  # botocore's client is all the app uses
    assert "chalicelib.storage.accounts" not in loaded["after_request"]  # Cognito: sign-up and deletion only
    assert not services & {
        f"chalicelib.services.{name}"
        for name in (
            "achievements",
            "leaderboards",
            "matchmaking",
            "notifications",
            "saves",
            "events",
            "analytics",
            "realtime",
            "admin",
            "audit",
            "auth",
            "stats",
        )
    }


def test_a_stat_update_loads_what_reacts_to_it_and_nothing_else(standin: Any, new_player: Callable[[], Player]) -> None:
    player = new_player()
    loaded = _run(
        {
            "method": "POST",
            "path": "/players/me/stats",
            "headers": {**player.auth, "Content-Type": "application/json"},
            "body": json.dumps({"updates": {"kills": 1}}),
        }
    )
    assert loaded["status"] == 200
    services = _services(loaded["after_request"])
    # A valid body passes the route's plain check, and the game config is the game.json
    # recorded as checked: neither the body's model nor the config's schema (nor pydantic) loads.
    assert "chalicelib.models.checks" in loaded["after_request"]
    assert not [
        m for m in loaded["after_request"] if m.startswith("chalicelib.models.") and m != "chalicelib.models.checks"
    ]
    assert "chalicelib.game_config.declarations" in loaded["after_request"]
    assert "chalicelib.game_config.schema" not in loaded["after_request"]
    assert "pydantic" not in loaded["after_request"]
    assert "chalicelib.storage.accounts" not in loaded["after_request"]
    # The stat feed (leaderboards) and the listener (achievements) ran: the process was wired.
    assert {
        "chalicelib.services.stats",
        "chalicelib.services.leaderboards",
        "chalicelib.services.achievements",
    } <= services
    assert not services & {
        f"chalicelib.services.{name}"
        for name in ("matchmaking", "saves", "events", "analytics", "admin", "audit", "auth")
    }


def test_a_refused_stat_update_is_worded_by_its_model(standin: Any, new_player: Callable[[], Player]) -> None:
    """What the plain check does not vouch for goes to the model (pydantic), as before."""
    player = new_player()
    loaded = _run(
        {
            "method": "POST",
            "path": "/players/me/stats",
            "headers": {**player.auth, "Content-Type": "application/json"},
            "body": json.dumps({"updates": {"kills": "1"}}),
        }
    )
    assert loaded["status"] == 400
    assert {"chalicelib.models.players", "pydantic"} <= set(loaded["after_request"])
