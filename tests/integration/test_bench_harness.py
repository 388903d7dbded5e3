"""The request counter counts what botocore sends and what DynamoDB reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from bench.harness import Figure, count_requests

TABLE = "bench-counter"


@pytest.fixture
def dynamodb(standin: Any) -> Iterator[Any]:
    """A small table on the session's stand-in (moto in-process would reset its state)."""
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=standin.endpoint_url)
    try:
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
        )
    except client.exceptions.ResourceInUseException:
        pass
    stale = client.query(
        TableName=TABLE, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "p"}}
    )
    for item in stale["Items"]:
        client.delete_item(TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]})
    for sk in ("a", "b", "c"):
        client.put_item(TableName=TABLE, Item={"PK": {"S": "p"}, "SK": {"S": sk}})
    yield client


def _key(sk: str) -> dict[str, Any]:
    return {"PK": {"S": "p"}, "SK": {"S": sk}}


def test_counts_requests_and_items_read(dynamodb: Any) -> None:
    with count_requests(dynamodb) as counted:
        dynamodb.get_item(TableName=TABLE, Key=_key("a"))
        dynamodb.get_item(TableName=TABLE, Key=_key("missing"))
        dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
        )
        dynamodb.batch_get_item(RequestItems={TABLE: {"Keys": [_key("a"), _key("b")]}})
        dynamodb.put_item(TableName=TABLE, Item=_key("d"))

    assert dict(counted.requests) == {
        "GetItem": 2,
        "Query": 1,
        "BatchGetItem": 1,
        "PutItem": 1,
    }
    assert counted.total_requests == 5
    assert dict(counted.items_read_by_operation) == {
        "GetItem": 1,
        "Query": 3,
        "BatchGetItem": 2,
    }
    assert counted.items_read == 6


def test_filtered_items_still_count_as_read(dynamodb: Any) -> None:
    with count_requests(dynamodb) as counted:
        page = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :p",
            FilterExpression="SK = :a",
            ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"S": "a"}},
        )
    assert page["Count"] == 1
    assert counted.items_read == 3


def test_consumed_capacity_is_summed_when_asked_for(dynamodb: Any) -> None:
    with count_requests(dynamodb) as counted:
        dynamodb.get_item(TableName=TABLE, Key=_key("a"), ReturnConsumedCapacity="TOTAL")
    assert counted.consumed_capacity > 0


def test_stops_counting_after_the_block(dynamodb: Any) -> None:
    with count_requests(dynamodb) as counted:
        dynamodb.get_item(TableName=TABLE, Key=_key("a"))
    dynamodb.get_item(TableName=TABLE, Key=_key("a"))
    assert counted.requests["GetItem"] == 1


def test_session_hooks_reach_clients_made_from_it(dynamodb: Any) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    with count_requests(session) as counted:
        session.client("dynamodb").get_item(TableName=TABLE, Key=_key("b"))
    assert counted.requests["GetItem"] == 1
    assert counted.items_read == 1


def test_figure_line() -> None:
    assert Figure("leaderboard.rank.items_read.1m", 12.0, "items").line() == ("leaderboard.rank.items_read.1m 12 items")
    assert Figure("cold_start.ratio", 1.23456, "ratio").line() == "cold_start.ratio 1.235 ratio"


def test_item_sizes_follow_dynamodb_rules() -> None:
    from bench.units import item_size, number_size

    # names + values: "PK" (2) + "p" (1), "n" (1) + 12345 (3 digits-pairs + 1)
    assert number_size("12345") == 4
    assert number_size("100") == 2  # trailing zeros do not count
    assert item_size({"PK": {"S": "p"}, "n": {"N": "12345"}}) == 2 + 1 + 1 + 4
    assert item_size({"l": {"L": [{"S": "ab"}, {"BOOL": True}]}}) == 1 + 3 + (1 + 2) + (1 + 1)


def test_read_and_write_units_from_item_sizes(dynamodb: Any) -> None:
    peek = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=dynamodb.meta.endpoint_url)
    big = {**_key("big"), "blob": {"S": "x" * 2500}}  # about 2.5 KB: 3 write steps, 1 read step
    with count_requests(dynamodb, peek=peek) as put:
        dynamodb.put_item(TableName=TABLE, Item=big)
    assert put.write_units == 3 and put.read_units == 0
    with count_requests(dynamodb, peek=peek) as update:
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key("big"),
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
    assert update.write_units == 3  # the item's size after the change, not the change's
    with count_requests(dynamodb, peek=peek) as reads:
        dynamodb.get_item(TableName=TABLE, Key=_key("big"))  # eventually consistent: 0.5
        dynamodb.get_item(TableName=TABLE, Key=_key("big"), ConsistentRead=True)  # 1
        dynamodb.get_item(TableName=TABLE, Key=_key("nothing"))  # a miss still costs 0.5
        dynamodb.query(  # a, b, c and big: under 4 KB together: 0.5, though only counted
            TableName=TABLE,
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            Select="COUNT",
        )
    assert reads.read_units == 0.5 + 1 + 0.5 + 0.5
    with count_requests(dynamodb, peek=peek) as transact:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _key("t1")}},
                {"Delete": {"TableName": TABLE, "Key": _key("big")}},
            ]
        )
    assert transact.write_units == 2 * 1 + 2 * 3  # doubled: a small put, a 2.5 KB delete


def test_realtime_bench_push_needs_no_poll_and_learns_at_once(standin: Any) -> None:
    """The realtime benchmark's scenarios, on the session's stand-in (its tables are the app's)."""
    import uuid

    from bench import bench_realtime
    from chalicelib.services import notify

    saved = notify._pusher
    run = uuid.uuid4().hex[:8]
    try:
        poll = bench_realtime._scenario(2, "poll", run=run)
        push = bench_realtime._scenario(2, "push_session", run=run)
    finally:
        notify.register_pusher(saved)
    # The ticket is the only HTTP request with push; polling needs more, and learns later.
    assert push["http_requests"] == 1 and push["lambda_invocations"] == 1
    assert poll["http_requests"] > push["http_requests"]
    assert poll["dynamodb_requests"] > push["dynamodb_requests"]
    assert push["notice_delay_seconds"] == 0 < poll["notice_delay_seconds"]


def _cost_lines(profile: str) -> dict[str, list[str]]:
    """`python -m bench.cost` on a profile, in its own process (it starts its own stand-in
    and moves the app's clock): its figure lines by name, and the per-action rows."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "bench.cost", "--profile", str(root / "bench" / "cost" / profile)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("cost.usd_per_1k_dau_month ") and lines[-1].endswith(" usd")
    out = {line.split()[0]: line.split()[1:] for line in lines if not line.startswith("#")}
    out["#rows"] = [line.split()[1] for line in lines if line.startswith("#   ")]
    return out


def _profile(name: str) -> dict[str, Any]:
    import json
    from pathlib import Path

    return dict(json.loads((Path(__file__).resolve().parents[2] / "bench" / "cost" / name).read_text()))


def _http_calls(profile: dict[str, Any]) -> int:
    mm = profile["matchmaking"]
    return (
        profile["sign_in"]
        + profile["stat_updates"]["times"]
        + profile["scores"]["times"]
        + profile["rank_reads"]["times"]
        + mm["tickets"] * (1 + mm["polls_per_ticket"])
        + profile["event_batches"]["times"]
        + profile["saves"]["times"]
        + profile["inbox_reads"]
    )


def test_cost_session_pushes_the_match_and_prices_the_socket() -> None:
    """The default profile is the Unity client's day: no ticket poll, one WebSocket whose
    messages (connect, pings, pongs, pushes) and minutes are priced; the polling day is
    kept for comparison and has no socket."""
    push, polling = _profile("session.json"), _profile("session_polling.json")
    assert push["matchmaking"]["polls_per_ticket"] == 0 < polling["matchmaking"]["polls_per_ticket"]
    pushed = _cost_lines("session.json")
    polled = _cost_lines("session_polling.json")

    assert float(pushed["cost.session.http_calls"][0]) == _http_calls(push)
    assert float(polled["cost.session.http_calls"][0]) == _http_calls(polling)
    assert "ticket_poll" not in pushed["#rows"] and "ticket_poll" in polled["#rows"]
    assert {"ws_connect", "ws_ping", "ws_disconnect"} <= set(pushed["#rows"])
    assert not {"ws_connect", "ws_ping", "ws_disconnect"} & set(polled["#rows"])

    pings = push["realtime"]["minutes_connected"] * 60 // push["realtime"]["heartbeat_seconds"]
    # Each day: the connect, every ping and its pong, and at least the match found push.
    assert float(pushed["cost.session.websocket_messages"][0]) >= 1 + 2 * pings + 1
    assert float(polled["cost.session.websocket_messages"][0]) == 0
    assert float(pushed["cost.api_gateway_websocket.usd_month"][0]) > 0
    assert float(polled["cost.api_gateway_websocket.usd_month"][0]) == 0
    # Fewer REST calls with push: API Gateway's REST line drops by the polls' share.
    rest = float(pushed["cost.api_gateway.usd_month"][2]) / float(polled["cost.api_gateway.usd_month"][2])  # at 1M
    assert rest == pytest.approx(_http_calls(push) / _http_calls(polling), rel=1e-3)


def test_cost_returning_day_unlocks_nothing_again() -> None:
    """A returning player's day writes less than a first day (the first unlocks, the save
    slot's creation are not repeated), and the figure blends both by the profile's share."""
    lines = _cost_lines("session.json")
    first = float(lines["cost.first_day.usd_per_1k_dau_month"][0])
    returning = float(lines["cost.returning_day.usd_per_1k_dau_month"][0])
    share = _profile("session.json")["new_players_per_daily_player"]
    assert returning < first
    blended = float(lines["cost.usd_per_1k_dau_month"][0])
    assert blended == pytest.approx(share * first + (1 - share) * returning, abs=0.011)


def _rest_stage(**settings: Any) -> dict[str, Any]:
    """What `bench.cost.deployed()` says of a stage with a REST API and these settings."""
    return {"api_kind": "rest", "platform_logs": False, **settings}


def test_cost_prices_custom_metrics_and_traces_as_deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Custom metrics are billed per metric whatever the traffic, and only when the stage
    publishes them; traces are the sampled share of the REST calls."""
    import json
    from pathlib import Path

    from bench import cost

    root = Path(__file__).resolve().parents[2]
    prices = json.loads((root / "bench" / "cost" / "prices.json").read_text())
    profile = _profile("session.json")
    day = cost.Day()
    day.http_calls = 40  # two players' calls
    day.metrics = {("GameBackend", name, "service=game-backend") for name in ("StatUpdates", "SaveWrites")}
    jobs: dict[str, Any] = {}
    metric = prices["cloudwatch_custom_metric_month"]["price"]
    trace = prices["xray_traces_recorded_per_million"]

    # As the repository deploys: no custom metrics (prod's environment turns them off).
    assert cost.deployed()["metrics"] is False
    assert cost.monthly(day, jobs, (0, 0), profile, prices, 1_000)["cloudwatch_metrics"] == 0

    monkeypatch.setattr(cost, "deployed", lambda: _rest_stage(tracing=True, trace_sample_rate=0.5, metrics=True))
    for dau in (1_000, 1_000_000):
        usd = cost.monthly(day, jobs, (0, 0), profile, prices, dau)
        assert usd["cloudwatch_metrics"] == pytest.approx(2 * metric)  # the same at any scale
        traces = 40 / cost.PLAYERS * dau * profile["days_per_month"] * 0.5
        assert usd["xray"] == pytest.approx(max(0, traces - trace["free_traces"]) / 1e6 * trace["price"])


def test_cost_prices_the_kind_of_api_deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API line is priced by the deployed kind (an HTTP API by default, untraced), the
    same calls through a REST API at the REST price."""
    import json
    from pathlib import Path

    from bench import cost

    root = Path(__file__).resolve().parents[2]
    prices = json.loads((root / "bench" / "cost" / "prices.json").read_text())
    profile = _profile("session.json")
    day = cost.Day()
    day.http_calls = 40
    calls = 40 / cost.PLAYERS * 1_000_000 * profile["days_per_month"]

    assert cost.deployed()["api_kind"] == "http" and cost.deployed()["tracing"] is False
    usd = cost.monthly(day, {}, (0, 0), profile, prices, 1_000_000)
    assert usd["api_gateway"] == pytest.approx(calls / 1e6 * prices["api_gateway_http_per_million"]["price"])
    assert usd["xray"] == 0

    monkeypatch.setattr(cost, "deployed", lambda: _rest_stage(tracing=False, trace_sample_rate=0.05, metrics=False))
    usd = cost.monthly(day, {}, (0, 0), profile, prices, 1_000_000)
    assert usd["api_gateway"] == pytest.approx(calls / 1e6 * prices["api_gateway_rest_per_million"]["price"])


def test_cost_bills_lambda_platform_lines_only_when_the_stack_keeps_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack drops Lambda's START/END/REPORT lines (system log level WARN): no bytes for
    them; at INFO, each invocation adds one set."""
    import json
    from pathlib import Path

    from bench import cost
    from tools import cfn

    root = Path(__file__).resolve().parents[2]
    prices = json.loads((root / "bench" / "cost" / "prices.json").read_text())
    profile = _profile("session.json")
    day = cost.Day()
    day.http_calls = 40
    assert cfn.FUNCTION_LOGGING["SystemLogLevel"] == "WARN" and cost.deployed()["platform_logs"] is False
    assert cost.monthly(day, {}, (0, 0), profile, prices, 1_000_000)["cloudwatch_logs"] == 0

    monkeypatch.setitem(cfn.FUNCTION_LOGGING, "SystemLogLevel", "INFO")
    invocations = 40 / cost.PLAYERS * 1_000_000 * profile["days_per_month"]
    platform = invocations * prices["lambda_platform_log_bytes"]["value"] / 1e9
    logs = cost.monthly(day, {}, (0, 0), profile, prices, 1_000_000)["cloudwatch_logs"]
    assert logs == pytest.approx(platform * prices["cloudwatch_logs_ingest_per_gb"]["price"])


def test_bench_prints_units_for_every_route(tmp_path: Any) -> None:
    """`make bench` measures every route the app declares (and the WebSocket's three): each
    has its requests, read units and write units, and none is left unmeasured."""
    import json
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "routes.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "routes", "--out", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = {f["name"]: f["value"] for f in json.loads(out.read_text())["figures"]}
    assert figures["routes.unmeasured"] == 0, [line for line in done.stderr.splitlines() if "unmeasured" in line]

    import app

    for path, methods in app.app.routes.items():
        for method in methods:
            name = f"routes.{method.lower()}." + re.sub(r"[^a-z0-9{}]+", "_", path.strip("/"))
            assert {f"{name}.requests", f"{name}.read_units", f"{name}.write_units"} <= set(figures), name
    for handler in ("connect", "ping", "disconnect"):
        assert f"routes.ws.{handler}.write_units" in figures


def test_achievements_and_inbox_bench_runs(tmp_path: Any) -> None:
    """The achievements bench (unlocks, listing, inbox pages) runs to the end at its quick
    size: a figure it cannot produce is a failed module, not a missing line."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "achievements.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "achievements", "--out", str(out)],
        cwd=root,
        env={**os.environ, "BENCH_QUICK": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["failed"] == []
    figures = {f["name"]: f["value"] for f in results["figures"]}
    assert figures["notifications.page20_unread_only.items_read.inbox_200"] > 0
    assert figures["achievements.list.requests"] >= 1
