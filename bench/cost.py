"""Dollars per 1,000 daily players per month, from a session played on the stand-in.

    python -m bench.cost [--profile bench/cost/session.json] [--prices bench/cost/prices.json]

Plays one day of the declared session profile for two players against the local
stand-in (two, so the matchmaking ticket finds an opponent), counts every AWS call the
app makes (API calls, DynamoDB read and write units from item sizes, S3 and Cognito
requests, log bytes), runs the stream handlers on the stream records the day left, and
runs each scheduled job once. A profile with `realtime` opens one WebSocket per player
through the local gateway (the app's own handlers), pings it on the client's heartbeat
and counts its messages (connect, pings, the pongs and pushes the app posts) and its
connection minutes; `bench/cost/session_polling.json` is the same day polling instead.
Per player and day, times the profile's days, at the prices file's prices: one line per service, then a table at 1k, 100k and 1M daily
players, and last `cost.usd_per_1k_dau_month <value> usd`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.session import Player, Stage, Used, app_on_standin
from bench.units import item_size

HERE = Path(__file__).resolve().parent / "cost"
PLAYERS = 2
SCALES = (1_000, 100_000, 1_000_000)
DAYS_PLAYED = 2  # a first day and a returning day


class Day:
    """Totals of one played day, for all players together."""

    def __init__(self) -> None:
        self.http_calls = 0
        self.stream_invocations = 0
        self.requests: dict[str, int] = defaultdict(int)
        self.read_units = 0.0
        self.write_units = 0.0
        self.log_bytes = 0
        self.ws_invocations = 0
        self.ws_client_messages = 0
        self.ws_connection_minutes = 0.0
        self.access_log_bytes = 0
        self.metrics: set[tuple[str, str, str]] = set()
        self.by_action: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])

    @property
    def ws_messages(self) -> int:
        """Billed WebSocket messages: the client's (connects and pings) and the app's posts."""
        return self.ws_client_messages + self.requests.get("apigatewaymanagementapi", 0)

    def add(self, action: str, used: Used, http: bool = True) -> None:
        self.http_calls += 1 if http else 0
        for service, n in used.requests.items():
            self.requests[service] += n
        self.read_units += used.read_units
        self.write_units += used.write_units
        self.log_bytes += used.log_bytes + used.metric_bytes
        self.metrics |= used.metrics
        if http:
            self.access_log_bytes += access_log_bytes(used)
        row = self.by_action[action]
        row[0] += 1
        row[1] += used.dynamodb_requests
        row[2] += used.read_units
        row[3] += used.write_units


def access_log_bytes(used: Used) -> int:
    """The API stage's access log line for one call (the stack's format, filled in)."""
    from tools.cfn import ACCESS_LOG_FORMAT, HTTP_ACCESS_LOG_FORMAT

    filled = {
        "$context.routeKey": f"{used.method} {used.path}",
        "$context.requestId": str(uuid.uuid4()),
        "$context.identity.sourceIp": "203.0.113.200",
        "$context.requestTime": "01/Dec/2026:12:00:00 +0000",
        "$context.httpMethod": used.method,
        "$context.resourcePath": used.path,
        "$context.status": str(used.status),
        "$context.responseLength": str(used.response_bytes),
        "$context.responseLatency": "45",
        "$context.integrationLatency": "40",
        "$context.error.message": "-",
    }
    line = HTTP_ACCESS_LOG_FORMAT if deployed()["api_kind"] == "http" else ACCESS_LOG_FORMAT
    for name in sorted(filled, key=len, reverse=True):
        line = line.replace(name, filled[name])
    return len(line.encode()) + 1


def deployed() -> dict[str, Any]:
    """What the deployed (prod) stage turns on that is billed per request or per metric:
    the kind of API and X-Ray tracing (the deployment definition's API settings: only a
    REST API samples requests for X-Ray) and Powertools' custom metrics (the stage's
    environment in .chalice/config.json)."""
    from chalicelib.storage.schema import DEPLOYMENT
    from tools.cfn import FUNCTION_LOGGING

    config = json.loads((Path(__file__).resolve().parents[1] / ".chalice" / "config.json").read_text())
    env = config["stages"]["prod"].get("environment_variables", {})
    return {
        "api_kind": DEPLOYMENT.api.kind,
        # Lambda's START/END/REPORT lines are INFO: kept only at a system log level of INFO or DEBUG.
        "platform_logs": FUNCTION_LOGGING.get("SystemLogLevel", "INFO") in ("DEBUG", "INFO"),
        "tracing": bool(DEPLOYMENT.api.tracing) and DEPLOYMENT.api.kind == "rest",
        "trace_sample_rate": float(DEPLOYMENT.api.trace_sample_rate),
        "metrics": env.get("POWERTOOLS_METRICS_DISABLED", "false").lower() != "true",
    }


def play(stage: Stage, profile: dict[str, Any], day: Day, players: list[Player], versions: dict[str, int]) -> None:
    """One day of the profile for `players` (`versions`: each one's save version, kept
    across days as the client keeps it)."""
    from chalicelib.clock import system_clock

    now = system_clock()
    for p in players:
        for _ in range(profile["sign_in"]):
            day.add("sign_in", stage.call("POST", "/auth/refresh", {"refresh_token": p.refresh_token}))
    realtime = profile.get("realtime")
    sockets = []
    if realtime:
        # The session's socket, open before the player queues (a game connects at start).
        for p in players:
            socket, used = stage.ws_connect(p)
            sockets.append(socket)
            day.add("ws_connect", used, http=False)
            day.ws_invocations += 1
            day.ws_client_messages += 1
    stats = profile["stat_updates"]
    scores = profile["scores"]
    ranks = profile["rank_reads"]
    for p_index, p in enumerate(players):
        for _ in range(stats["times"]):
            day.add("stat_update", stage.call("POST", "/players/me/stats", {"updates": stats["updates"]}, p))
        for i in range(scores["times"]):
            body = {"score": 1000 * (i + 1) + p_index}
            day.add("score_submit", stage.call("POST", f"/leaderboards/{scores['board']}/scores", body, p))
        for _ in range(ranks["times"]):
            path = f"/leaderboards/{ranks['board']}/me?around={ranks['around']}"
            day.add("rank_read", stage.call("GET", path, None, p))
    mm = profile["matchmaking"]
    for _ in range(mm["tickets"]):
        tickets = []
        for p in players:
            used = stage.call("POST", "/matchmaking/tickets", {"queue": mm["queue"], "region": mm["region"]}, p)
            day.add("ticket_create", used)
            tickets.append((p, used.body["ticket_id"]))
        for _ in range(mm["polls_per_ticket"]):
            for p, ticket in tickets:
                day.add("ticket_poll", stage.call("GET", f"/matchmaking/tickets/{ticket}", None, p))
    batches = profile["event_batches"]
    for p in players:
        for _ in range(batches["times"]):
            events = [
                {"event_id": uuid.uuid4().hex, "type": batches["type"], "timestamp": now, "data": {"i": i}}
                for i in range(batches["events_per_batch"])
            ]
            day.add("event_batch", stage.call("POST", "/events", {"events": events}, p))
    saves = profile["saves"]
    for p in players:
        for _ in range(saves["times"]):
            body = {"data": {"blob": "x" * saves["bytes"]}, "expected_version": versions.get(p.player_id, 0)}
            used = stage.call("PUT", f"/saves/{saves['slot']}", body, p)
            day.add("save_write", used)
            versions[p.player_id] = used.body["version"]
    for p in players:
        for _ in range(profile["inbox_reads"]):
            day.add("inbox_read", stage.call("GET", "/notifications", None, p))
    if realtime:
        pings = int(realtime["minutes_connected"] * 60 // realtime["heartbeat_seconds"])
        for socket in sockets:
            for _ in range(pings):
                day.add("ws_ping", stage.ws_ping(socket), http=False)
                day.ws_invocations += 1
                day.ws_client_messages += 1
            day.add("ws_disconnect", stage.ws_disconnect(socket), http=False)
            day.ws_invocations += 1
            day.ws_connection_minutes += realtime["minutes_connected"]
    # The stream handlers on what the day wrote, in Lambda-sized batches.
    while True:
        used, delivered = stage.deliver_streams()
        if not delivered:
            break
        day.stream_invocations += 1
        day.add("stream_handler", used, http=False)


@contextmanager
def app_clock(start: float) -> Iterator[Callable[[float], None]]:
    """Run the app's clock (chalicelib.clock, which every service reads) from `start`;
    the yielded function moves it on by some seconds. Tokens keep the real clock, as
    Cognito's do."""
    import chalicelib.clock as clock

    real = clock.time
    offset = [start - real.time()]

    class Shifted:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def time(self) -> float:
            return real.time() + offset[0]

    def advance(seconds: float) -> None:
        offset[0] += seconds

    clock.time = Shifted()  # type: ignore[assignment]
    try:
        yield advance
    finally:
        clock.time = real


def first_day_start(now: float) -> float:
    """Noon UTC of the next Tuesday: the first day and the next one fall in one week
    (weekly boards) whatever day the cost is computed on."""
    today = datetime.fromtimestamp(now, UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=(1 - today.weekday()) % 7 or 7)).timestamp()


def blend(first: Day, returning: Day, new_share: float) -> Day:
    """A typical day of the whole audience: `new_share` of the players on their first day."""
    out = Day()
    for source, weight in ((first, new_share), (returning, 1 - new_share)):
        out.http_calls += source.http_calls * weight  # type: ignore[assignment]
        out.stream_invocations += source.stream_invocations * weight  # type: ignore[assignment]
        out.ws_invocations += source.ws_invocations * weight  # type: ignore[assignment]
        out.ws_client_messages += source.ws_client_messages * weight  # type: ignore[assignment]
        out.ws_connection_minutes += source.ws_connection_minutes * weight
        out.read_units += source.read_units * weight
        out.write_units += source.write_units * weight
        out.log_bytes += source.log_bytes * weight  # type: ignore[assignment]
        out.access_log_bytes += source.access_log_bytes * weight  # type: ignore[assignment]
        out.metrics |= source.metrics
        for service, n in source.requests.items():
            out.requests[service] += n * weight  # type: ignore[assignment]
        for action, row in source.by_action.items():
            mixed = out.by_action[action]
            for i, value in enumerate(row):
                mixed[i] += value * weight
    return out


def scheduled_jobs(stage: Stage) -> dict[str, tuple[int, Used]]:
    """Each scheduled job twice, after the played days: (runs per 30 days, what a run costs
    on average). The first run does the day's work (closing the period that ended), the
    second is a run with nothing to do; a job running more often than daily finds that
    work in one run a day."""
    from local_backend.events import LambdaContext

    out = {}
    for source in stage.app.event_sources:
        expression = getattr(source, "schedule_expression", None)
        if expression is None:
            continue
        text = expression if isinstance(expression, str) else expression.to_string()
        runs = _runs_per_month(text)
        event = {
            "version": "0",
            "id": uuid.uuid4().hex,
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": "us-east-1",
            "resources": [],
            "detail": {},
        }
        handler = stage.app.handler_map[source.name]
        with stage.measure() as first:
            handler(event, LambdaContext(source.name, "us-east-1"))
        with stage.measure() as steady:
            handler(event, LambdaContext(source.name, "us-east-1"))
        busy = min(1.0, 30 / runs)  # the share of runs that find a day's work
        average = Used(
            requests={k: int(v) for k, v in steady.requests.items()},
            read_units=steady.read_units + busy * (first.read_units - steady.read_units),
            write_units=steady.write_units + busy * (first.write_units - steady.write_units),
        )
        out[source.name] = (runs, average)
    return out


def _runs_per_month(expression: str) -> int:
    if expression.startswith("rate("):
        amount, unit = expression[5:-1].split()
        seconds = (
            int(amount) * {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}[unit]
        )
        return 30 * 86400 // seconds
    return 30  # a cron: at most daily in this app


def stored_bytes(stage: Stage) -> tuple[int, int]:
    """Bytes the stand-in holds (items plus DynamoDB's 100 bytes each): (events table, the rest)."""
    events, rest = 0, 0
    for name in stage.peek.list_tables()["TableNames"]:
        kwargs: dict[str, Any] = {"TableName": name}
        while True:
            page = stage.peek.scan(**kwargs)
            size = sum(item_size(i) + 100 for i in page["Items"])
            if name.endswith("-events"):
                events += size
            else:
                rest += size
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return events, rest


def monthly(
    day: Day,
    jobs: dict[str, tuple[int, Used]],
    stored: tuple[int, int],
    profile: dict[str, Any],
    prices: dict[str, Any],
    dau: int,
) -> dict[str, float]:
    """Dollars per month at `dau` daily players, by service."""
    days = profile["days_per_month"]
    scale = dau * days / PLAYERS  # the day was played by PLAYERS players
    lam = profile["lambda"]
    p = {k: v["price"] for k, v in prices.items() if isinstance(v, dict) and "price" in v}
    job_runs = sum(runs for runs, _ in jobs.values())
    invocations = (day.http_calls + day.stream_invocations + day.ws_invocations) * scale + job_runs
    reads = day.read_units * scale + sum(runs * u.read_units for runs, u in jobs.values())
    writes = day.write_units * scale + sum(runs * u.write_units for runs, u in jobs.values())
    on = deployed()
    platform_bytes = prices["lambda_platform_log_bytes"]["value"] if on["platform_logs"] else 0
    log_bytes = (day.log_bytes + day.access_log_bytes) * scale + invocations * platform_bytes
    # The stage's sampling rule records this share of the REST calls; functions trace
    # nothing else (WebSocket, stream and scheduled invocations are not sampled).
    traces = day.http_calls * scale * on["trace_sample_rate"]
    events_bytes, other_bytes = stored
    retention = _retention_days()
    stored_gb = (
        other_bytes / PLAYERS * profile["players_stored"]["accounts_per_daily_player"] * dau
        + events_bytes / (PLAYERS * DAYS_PLAYED) * retention * dau  # a day's events, kept `retention` days
    ) / 1e9
    s3 = day.requests.get("s3", 0) * scale
    mau = dau * profile["monthly_active_per_daily_player"]
    return {
        # Every call is under 512 KB: one billed request each.
        "api_gateway": day.http_calls * scale / 1e6 * p[f"api_gateway_{on['api_kind']}_per_million"],
        "api_gateway_websocket": day.ws_messages * scale / 1e6 * p["api_gateway_websocket_messages_per_million"]
        + day.ws_connection_minutes * scale / 1e6 * p["api_gateway_websocket_connection_minutes_per_million"],
        "lambda": invocations / 1e6 * p["lambda_requests_per_million"]
        + invocations * lam["ms_per_invocation"] / 1000 * lam["memory_mb"] / 1024 * p["lambda_gb_second"],
        "dynamodb_reads": reads / 1e6 * p["dynamodb_read_request_units_per_million"],
        "dynamodb_writes": writes / 1e6 * p["dynamodb_write_request_units_per_million"],
        "dynamodb_storage": stored_gb * p["dynamodb_storage_gb_month"],
        "dynamodb_streams": 0.0,  # read by Lambda triggers only: free
        "s3": s3 / 1000 * p["s3_put_per_1000"],
        "cognito": max(0, mau - prices["cognito_mau"]["free_mau"]) * p["cognito_mau"],
        "cloudwatch_logs": log_bytes / 1e9 * p["cloudwatch_logs_ingest_per_gb"],
        # Every custom metric (name and dimensions) published through the month, whatever the traffic.
        "cloudwatch_metrics": len(day.metrics) * p["cloudwatch_custom_metric_month"] if on["metrics"] else 0.0,
        "xray": max(0.0, traces - prices["xray_traces_recorded_per_million"]["free_traces"])
        / 1e6
        * p["xray_traces_recorded_per_million"]
        if on["tracing"]
        else 0.0,
    }


def _retention_days() -> int:
    from chalicelib.game_config import get_game_config

    return int(get_game_config().events.retention_days)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", type=Path, default=HERE / "session.json")
    parser.add_argument("--prices", type=Path, default=HERE / "prices.json")
    args = parser.parse_args(argv)
    profile = json.loads(args.profile.read_text())
    prices = json.loads(args.prices.read_text())
    first, returning = Day(), Day()
    with (
        app_on_standin(realtime=bool(profile.get("realtime")), metrics=deployed()["metrics"]) as stage,
        app_clock(first_day_start(time.time())) as advance,
    ):
        players = [stage.guest() for _ in range(PLAYERS)]
        versions: dict[str, int] = {}
        play(stage, profile, first, players, versions)
        advance(86400)  # the same players the next day
        play(stage, profile, returning, players, versions)
        jobs = scheduled_jobs(stage)
        stored = stored_bytes(stage)
    new_share = float(profile["new_players_per_daily_player"])
    day = blend(first, returning, new_share)

    print(f"# profile: {profile['name']} ({args.profile.name}); prices of {prices['date']} ({args.prices.name})")
    print(f"# a daily player's day: {new_share:g} of them on their first day, the rest on a returning day")
    print("# per player and day: action calls dynamodb_requests read_units write_units (first day | returning day)")
    for action in dict.fromkeys([*first.by_action, *returning.by_action]):
        again = returning.by_action.get(action, [0, 0, 0.0, 0.0])
        once = first.by_action.get(action, [0, 0, 0.0, 0.0])
        print(
            f"#   {action:<15} "
            + " | ".join(
                f"{row[0] / PLAYERS:4g} {row[1] / PLAYERS:5g} {row[2] / PLAYERS:7g} {row[3] / PLAYERS:7g}"
                for row in (once, again)
            )
        )
    for name, which in (("first_day", first), ("returning_day", returning)):
        usd = sum(monthly(which, jobs, stored, profile, prices, 1_000).values())
        print(f"cost.{name}.usd_per_1k_dau_month {usd:.2f} usd")
    per_event = day.by_action["event_batch"][3] + day.by_action["stream_handler"][3]
    events = PLAYERS * profile["event_batches"]["times"] * profile["event_batches"]["events_per_batch"]
    print(f"cost.events.write_units_per_event {per_event / events:.3g} units")
    print(f"cost.session.http_calls {day.http_calls / PLAYERS:g} calls")
    print(f"cost.session.websocket_messages {day.ws_messages / PLAYERS:g} messages")
    print(f"cost.session.read_units {day.read_units / PLAYERS:g} units")
    print(f"cost.session.write_units {day.write_units / PLAYERS:g} units")
    for name, (runs, used) in jobs.items():
        print(
            f"# job {name}: {runs} runs a month, {used.read_units:.3g} read and {used.write_units:.3g} write units a run"
        )
    table = {dau: monthly(day, jobs, stored, profile, prices, dau) for dau in SCALES}
    print("# usd per month by service at " + ", ".join(f"{d:,} daily players" for d in SCALES))
    for service in table[SCALES[0]]:
        print(f"cost.{service}.usd_month " + " ".join(f"{table[d][service]:.2f}" for d in SCALES) + " usd")
    print("cost.total.usd_month " + " ".join(f"{sum(table[d].values()):.2f}" for d in SCALES) + " usd")
    # Not in the total: the same calls through the other kind of API (DEPLOYMENT.api.kind).
    kind = deployed()["api_kind"]
    other = "rest" if kind == "http" else "http"
    ratio = prices[f"api_gateway_{other}_per_million"]["price"] / prices[f"api_gateway_{kind}_per_million"]["price"]
    print(
        f"cost.if_{other}_api.api_gateway.usd_month "
        + " ".join(f"{table[d]['api_gateway'] * ratio:.2f}" for d in SCALES)
        + " usd"
    )
    per_1k = sum(table[1_000].values())
    if not math.isfinite(per_1k):
        print("cost could not be computed", file=sys.stderr)
        return 1
    print(f"cost.usd_per_1k_dau_month {per_1k:.2f} usd")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
