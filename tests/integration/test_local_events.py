"""The local event-source runner: schedules and DynamoDB stream handlers get invoked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import boto3
from chalice import Chalice, Cron, Rate

from local_backend.events import EventRunner, cron_matches, rate_seconds
from local_backend.standin import StandIn


def _tiny_app(stream_table: str) -> tuple[Chalice, dict[str, list[Any]]]:
    app = Chalice(app_name="tiny")
    calls: dict[str, list[Any]] = {"every_minute": [], "nightly": [], "records": []}

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def every_minute(event: Any) -> None:
        calls["every_minute"].append(event.to_dict())

    @app.schedule(Cron(30, 2, "*", "*", "?", "*"))
    def nightly(event: Any) -> None:
        calls["nightly"].append(event.to_dict())

    # A placeholder ARN: the runner looks up the table's real stream.
    @app.on_dynamodb_record(
        stream_arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/{stream_table}/stream/placeholder",
        starting_position="TRIM_HORIZON",
    )
    def on_event(event: Any) -> None:
        for record in event:
            calls["records"].append((record.event_name, record.new_image, record.table_name))

    return app, calls


def test_schedules_and_stream_handlers_are_invoked(standin: StandIn, tmp_path: Path) -> None:
    table = standin.outputs["tables"]["events"]["name"]
    session = boto3.session.Session(region_name="us-east-1")
    ddb = session.client("dynamodb", endpoint_url=standin.endpoint_url)
    streams = session.client("dynamodbstreams", endpoint_url=standin.endpoint_url)
    # Records already in the stream from other tests are delivered too: count ours only.
    app, calls = _tiny_app(table)
    t0 = dt.datetime(2030, 1, 1, 2, 28, 0, tzinfo=dt.UTC).timestamp()
    runner = EventRunner(app, dynamodb=ddb, streams=streams, state_dir=tmp_path, clock=lambda: t0)

    runner.tick(t0)
    assert calls["every_minute"] == []
    runner.tick(t0 + 61)
    assert len(calls["every_minute"]) == 1
    assert calls["every_minute"][0]["detail-type"] == "Scheduled Event"
    assert calls["nightly"] == []
    runner.tick(t0 + 121)  # 02:30
    runner.tick(t0 + 125)  # same minute: not again
    assert len(calls["nightly"]) == 1
    assert len(calls["every_minute"]) == 2

    ddb.put_item(TableName=table, Item={"PK": {"S": "evt-local-runner-1"}, "SK": {"S": "E#1"}, "kind": {"S": "login"}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "evt-local-runner-2"}, "SK": {"S": "E#1"}, "kind": {"S": "quit"}})
    runner.poll_streams()
    ours = [r for r in calls["records"] if r[1] and r[1]["PK"]["S"].startswith("evt-local-runner-")]
    assert [(name, image["kind"]["S"], tbl) for name, image, tbl in ours] == [
        ("INSERT", "login", table),
        ("INSERT", "quit", table),
    ]

    # A new runner with the same state folder resumes after the checkpoint: no replay.
    app2, calls2 = _tiny_app(table)
    runner2 = EventRunner(app2, dynamodb=ddb, streams=streams, state_dir=tmp_path)
    ddb.put_item(TableName=table, Item={"PK": {"S": "evt-local-runner-3"}, "SK": {"S": "E#1"}, "kind": {"S": "buy"}})
    runner2.poll_streams()
    assert [image["PK"]["S"] for _, image, _ in calls2["records"]] == ["evt-local-runner-3"]


def test_schedule_expressions() -> None:
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(2 hours)") == 7200
    assert rate_seconds("cron(0 * * * ? *)") is None
    monday_0900 = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    assert cron_matches("cron(0 9 ? * MON-FRI *)", monday_0900)
    assert not cron_matches("cron(0 9 ? * SAT,SUN *)", monday_0900)
    assert cron_matches("cron(0/15 * * * ? *)", monday_0900.replace(minute=45))
    assert not cron_matches("cron(0/15 * * * ? *)", monday_0900.replace(minute=46))
    assert cron_matches("cron(0 0 1 JAN ? *)", dt.datetime(2031, 1, 1, tzinfo=dt.UTC))
