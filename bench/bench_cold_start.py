"""Cold start: `import app` plus its first request, against a minimal Chalice app.

Per route (GET /players/me, POST /players/me/stats, with a signed-in player's token),
both apps run in fresh processes against the local stand-in (started and provisioned
before the clock starts), alternately, REPEATS pairs (15; 7 with BENCH_QUICK=1) after
one unmeasured pair; the figure is the median of the pairs' ratios. Each process times
what Lambda does on a cold start: import the app module and call it once with an API
Gateway proxy event (bench/cold_start_child.py). The minimal app does what a cold start
cannot avoid: import Chalice, build a DynamoDB client, one GetItem. The ratio is what the
real app's imports and set-up cost on top (for the real app that includes fetching the
token keys and checking the token's signature, and every DynamoDB request the route
makes). Both apps run with their bytecode cached (the unmeasured pair writes it, whatever
PYTHONDONTWRITEBYTECODE says). Set BENCH_APP_DIR to measure an app in another directory.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import Figure
from chalicelib.config import Settings
from chalicelib.storage.schema import DATA, Table
from tools.stage_config import PROJECT_DIR

REPEATS = int(os.environ.get("BENCH_COLD_START_REPEATS", "7" if os.environ.get("BENCH_QUICK") == "1" else "15"))

MINIMAL_APP = """
import os

import boto3
from chalice import Chalice

app = Chalice(app_name="minimal")
_client = None


@app.route("/health")
def health():
    global _client
    if _client is None:
        _client = boto3.client("dynamodb")
    _client.get_item(
        TableName=os.environ["MINIMAL_TABLE"],
        Key={"PK": {"S": "health"}, "SK": {"S": "health"}},
    )
    return {"ok": True}
"""


def create_table_request(table: Table, name: str) -> dict[str, Any]:
    keys = [{"AttributeName": table.partition.name, "KeyType": "HASH"}]
    if table.sort:
        keys.append({"AttributeName": table.sort.name, "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in table.attributes.items()],
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.partition.name, "KeyType": "HASH"}]
                + ([{"AttributeName": index.sort.name, "KeyType": "RANGE"}] if index.sort else []),
                "Projection": {"ProjectionType": "KEYS_ONLY" if index.keys_only else "ALL"},
            }
            for index in table.indexes
        ]
    return request


def _spec(module: str, app_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    settings = Settings.from_env(env)
    return {
        "module": module,
        "app_dir": str(app_dir),
        "env": env,
        "tables": [create_table_request(t, settings.table_name(t.key)) for t in DATA.tables],
    }


def _once(spec: dict[str, Any]) -> float:
    # Same conditions for both apps: bytecode cached, as after the unmeasured pair.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "bench.cold_start_child", json.dumps(spec)],
        cwd=PROJECT_DIR,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{spec['module']} cold start failed:\n{result.stderr[-2000:]}")
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    if outcome["status"] != 200:
        raise RuntimeError(f"{spec['module']}: {spec['event']['path']} answered {outcome['status']}")
    return float(outcome["ms"])


ROUTES = {
    "players_me": ("GET", "/players/me", None),
    "stats_update": ("POST", "/players/me/stats", {"updates": {"kills": 1, "xp": 10, "matches_played": 1}}),
}


def run() -> list[Figure]:
    """Per route: fresh processes, minimal app and real app alternately, REPEATS pairs
    after one unmeasured pair; the figure is the median of the pairs' ratios."""
    from bench.cold_start_child import proxy_event
    from bench.session import app_on_standin

    app_dir = Path(os.environ.get("BENCH_APP_DIR", PROJECT_DIR))
    figures: list[Figure] = []
    with app_on_standin() as stage, tempfile.TemporaryDirectory() as minimal_dir:
        player = stage.guest()
        env = dict(os.environ)  # the stand-in's endpoint and the provisioned names
        env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        players = Settings.from_env(env).table_name("players")
        Path(minimal_dir, "minimal_app.py").write_text(MINIMAL_APP, encoding="utf-8")
        minimal = _spec("minimal_app", Path(minimal_dir), {**env, "MINIMAL_TABLE": players})
        minimal["event"] = proxy_event("GET", "/health")
        for name, (method, path, body) in ROUTES.items():
            real = _spec("app", app_dir, env)
            real["event"] = proxy_event(
                method,
                path,
                {"Authorization": f"Bearer {player.id_token}", "Content-Type": "application/json"},
                json.dumps(body) if body is not None else None,
            )
            # One unmeasured pair: writes the bytecode caches and warms the OS file cache.
            _once(minimal)
            _once(real)
            minimal_ms, app_ms = [], []
            for _ in range(REPEATS):
                minimal_ms.append(_once(minimal))
                app_ms.append(_once(real))
            ratios = [a / m for a, m in zip(app_ms, minimal_ms, strict=True)]
            figures += [
                Figure(f"coldstart.ratio.{name}", statistics.median(ratios), "ratio"),
                Figure(f"coldstart.app_ms.{name}", statistics.median(app_ms), "ms"),
                Figure(f"coldstart.minimal_ms.{name}", statistics.median(minimal_ms), "ms"),
            ]
    return figures
