"""Cold start: `import app` plus its first request, against a minimal Chalice app.

Both run in fresh processes against moto's in-process `mock_aws` (tables created
before the clock starts), alternately, REPEATS times; the figure is the ratio of the
medians. The minimal app does what a cold start cannot avoid: import Chalice, build a
DynamoDB client, one GetItem. The ratio is what the real app's imports and set-up cost
on top. Set BENCH_APP_DIR to measure an app in another directory.
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
from tools.stage_config import PROJECT_DIR, stage_environment

REPEATS = int(os.environ.get("BENCH_COLD_START_REPEATS", "7"))

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
    result = subprocess.run(
        [sys.executable, "-m", "bench.cold_start_child", json.dumps(spec)],
        cwd=PROJECT_DIR,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{spec['module']} cold start failed:\n{result.stderr[-2000:]}")
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    if outcome["status"] != 200:
        raise RuntimeError(f"{spec['module']}: GET /health answered {outcome['status']}")
    return float(outcome["ms"])


def run() -> list[Figure]:
    app_dir = Path(os.environ.get("BENCH_APP_DIR", PROJECT_DIR))
    env = {
        **stage_environment("local"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    players = Settings.from_env(env).table_name("players")
    with tempfile.TemporaryDirectory() as minimal_dir:
        Path(minimal_dir, "minimal_app.py").write_text(MINIMAL_APP, encoding="utf-8")
        minimal = _spec("minimal_app", Path(minimal_dir), {**env, "MINIMAL_TABLE": players})
        has_app = (app_dir / "app.py").exists()
        real = _spec("app", app_dir, env)
        # One unmeasured pair: writes the bytecode caches and warms the OS file cache.
        _once(minimal)
        if has_app:
            _once(real)
        minimal_ms, app_ms = [], []
        for _ in range(REPEATS):
            minimal_ms.append(_once(minimal))
            if has_app:
                app_ms.append(_once(real))

    figures = [Figure("cold_start.minimal_ms", statistics.median(minimal_ms), "ms")]
    if not has_app:
        print(f"# no app.py in {app_dir}: cold_start.ratio not measured", file=sys.stderr)
        return figures
    app_median = statistics.median(app_ms)
    return [
        Figure("cold_start.ratio", app_median / figures[0].value, "ratio"),
        Figure("cold_start.app_ms", app_median, "ms"),
        *figures,
    ]
