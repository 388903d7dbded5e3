"""Local event sources: what Lambda would run that `chalice local` does not.

`chalice local` serves routes only. This runner imports the app and drives its
`@app.schedule` and `@app.on_dynamodb_record` handlers:

- a rate schedule runs every period, the first time one period after start;
- a cron schedule runs in every UTC minute its expression matches (AWS's six fields;
  `L`, `W` and `#` in the day fields are approximated as "any day");
- a DynamoDB stream is polled through the stand-in's dynamodbstreams API, and the handler
  gets `{"Records": [...]}` batches of up to `batch_size`, shaped like Lambda's event
  source mapping. The last sequence number per shard is kept in a checkpoint file, so a
  restart does not replay. A failing batch is retried (3 attempts), then skipped.

The stream ARN an app registers may be a placeholder locally: the table name in it is
looked up in the stand-in for the real, current stream ARN.

    python -m local_backend.events [--app-dir .] [--state-dir .local]

runs with the same environment as `chalice local` (the run command starts it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalice.app import Chalice, DynamoDBEventConfig, ScheduledEventConfig

logger = logging.getLogger("local_backend.events")

CHECKPOINT_FILE = "stream-checkpoints.json"
MAX_ATTEMPTS = 3
ACCOUNT_ID = "123456789012"
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, region: str, timeout_seconds: int = 60) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# -- schedules ------------------------------------------------------------------------


def _expression(config: ScheduledEventConfig) -> str:
    expression = config.schedule_expression
    return expression if isinstance(expression, str) else expression.to_string()


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of `rate(5 minutes)`; None for anything else."""
    match = re.fullmatch(r"\s*rate\(\s*(\d+)\s+(minute|hour|day)s?\s*\)\s*", expression, re.I)
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def _field_values(spec: str, low: int, high: int, names: dict[str, int]) -> set[int] | None:
    """The values a cron field allows; None means any."""
    values: set[int] = set()
    for part in spec.upper().split(","):
        if part in ("*", "?") or re.search(r"[LW#]", part):
            return None
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = names.get(first) or int(first), names.get(last) or int(last)
        else:
            start = names.get(part) or int(part)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return values


def cron_matches(expression: str, when: dt.datetime) -> bool:
    """Whether `cron(min hour dom month dow year)` fires in the minute of `when` (UTC)."""
    match = re.fullmatch(r"\s*cron\((.*)\)\s*", expression, re.I)
    if not match:
        raise ValueError(f"not a cron expression: {expression!r}")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"a cron expression has six fields: {expression!r}")
    minute, hour, dom, month, dow, year = fields
    aws_weekday = (when.isoweekday() % 7) + 1  # SUN=1 .. SAT=7
    checks = (
        (minute, 0, 59, {}, when.minute),
        (hour, 0, 23, {}, when.hour),
        (dom, 1, 31, {}, when.day),
        (month, 1, 12, _MONTHS, when.month),
        (dow, 1, 7, _DAYS, aws_weekday),
        (year, 1970, 2199, {}, when.year),
    )
    for spec, low, high, names, value in checks:
        allowed = _field_values(spec, low, high, names)
        if allowed is not None and value not in allowed:
            return False
    return True


@dataclass
class _Schedule:
    config: ScheduledEventConfig
    expression: str
    period: int | None
    next_run: float = 0.0
    last_minute: int | None = None

    def due(self, now: float) -> bool:
        if self.period is not None:
            if now >= self.next_run:
                self.next_run = max(self.next_run + self.period, now)
                return True
            return False
        minute = int(now // 60)
        if minute == self.last_minute:
            return False
        self.last_minute = minute
        return cron_matches(self.expression, dt.datetime.fromtimestamp(minute * 60, dt.UTC))


# -- streams --------------------------------------------------------------------------


@dataclass
class _Stream:
    config: DynamoDBEventConfig
    arn: str | None = None
    iterators: dict[str, str] = field(default_factory=dict)
    attempts: int = 0


def _table_from_stream_arn(arn: str) -> str | None:
    match = re.match(r"arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)", arn)
    return match.group(1) if match else None


def _lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    record = dict(record)
    dynamodb = dict(record.get("dynamodb", {}))
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        # Lambda delivers epoch seconds; boto3 parsed it into a datetime.
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    record["dynamodb"] = dynamodb
    record["eventSourceARN"] = stream_arn
    identity = record.get("userIdentity")
    if isinstance(identity, dict):
        # A Time to Live deletion: Lambda spells the Streams API's Type/PrincipalId so.
        record["userIdentity"] = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
    return record


class EventRunner:
    """Drives an app's schedules and stream handlers; call `tick()` or `run()`."""

    def __init__(
        self,
        app: Chalice,
        *,
        dynamodb: Any = None,
        streams: Any = None,
        state_dir: Path | None = None,
        region: str = "us-east-1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.dynamodb = dynamodb
        self.streams_client = streams
        self.region = region
        self.clock = clock
        self.checkpoint_path = state_dir / CHECKPOINT_FILE if state_dir is not None else None
        self.checkpoints: dict[str, dict[str, str]] = self._load_checkpoints()
        start = clock()
        self.schedules: list[_Schedule] = []
        self.streams: list[_Stream] = []
        for source in app.event_sources:
            if isinstance(source, ScheduledEventConfig):
                expression = _expression(source)
                period = rate_seconds(expression)
                if period is None:
                    cron_matches(expression, dt.datetime.now(dt.UTC))  # fail early if invalid
                self.schedules.append(_Schedule(source, expression, period, next_run=start + (period or 0)))
            elif isinstance(source, DynamoDBEventConfig):
                self.streams.append(_Stream(source))
            else:
                logger.warning("event source %s (%s) is not run locally", source.name, type(source).__name__)

    # -- handlers --

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        handler = self.app.handler_map[name]
        context = LambdaContext(f"{self.app.app_name}-local-{name}", self.region)
        return handler(event, context)

    def _scheduled_event(self, name: str, now: float) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{self.app.app_name}-local-{name}"],
            "detail": {},
        }

    def run_schedules(self, now: float | None = None) -> list[str]:
        """Run every schedule that is due; the names run."""
        now = self.clock() if now is None else now
        ran = []
        for schedule in self.schedules:
            if schedule.due(now):
                name = schedule.config.name
                try:
                    self._invoke(name, self._scheduled_event(name, now))
                except Exception:
                    logger.exception("scheduled handler %s failed", name)
                ran.append(name)
        return ran

    # -- streams --

    def _resolve_arn(self, stream: _Stream) -> str | None:
        configured = stream.config.stream_arn
        table = _table_from_stream_arn(configured or "")
        if table is None:
            logger.warning("stream handler %s: cannot read a table in %r", stream.config.name, configured)
            return None
        try:
            description = self.dynamodb.describe_table(TableName=table)["Table"]
        except Exception:
            logger.warning("stream handler %s: no table %s yet", stream.config.name, table)
            return None
        arn = description.get("LatestStreamArn")
        if arn is None:
            logger.warning("stream handler %s: table %s has no stream", stream.config.name, table)
        return arn  # type: ignore[no-any-return]

    def _iterator(self, stream: _Stream, shard_id: str) -> str:
        assert stream.arn is not None
        last = self.checkpoints.get(stream.arn, {}).get(shard_id)
        if last is not None:
            params = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
        else:
            position = (stream.config.starting_position or "LATEST").upper()
            params = {"ShardIteratorType": "TRIM_HORIZON" if position == "TRIM_HORIZON" else "LATEST"}
        response = self.streams_client.get_shard_iterator(StreamArn=stream.arn, ShardId=shard_id, **params)
        return response["ShardIterator"]  # type: ignore[no-any-return]

    def poll_streams(self) -> int:
        """Deliver new stream records to their handlers; the number of records delivered."""
        delivered = 0
        for stream in self.streams:
            if stream.arn is None:
                stream.arn = self._resolve_arn(stream)
                if stream.arn is None:
                    continue
            try:
                delivered += self._poll(stream)
            except Exception:
                # The stand-in restarted or the table was recreated: start over from the checkpoint.
                logger.exception("polling the stream of %s failed", stream.config.name)
                stream.arn = None
                stream.iterators.clear()
        return delivered

    def _poll(self, stream: _Stream) -> int:
        assert stream.arn is not None
        delivered = 0
        shards = self.streams_client.describe_stream(StreamArn=stream.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator = stream.iterators.get(shard_id) or self._iterator(stream, shard_id)
            response = self.streams_client.get_records(ShardIterator=iterator, Limit=stream.config.batch_size)
            records = response.get("Records", [])
            if not records:
                stream.iterators[shard_id] = response.get("NextShardIterator") or iterator
                continue
            event = {"Records": [_lambda_record(r, stream.arn) for r in records]}
            try:
                self._invoke(stream.config.name, event)
            except Exception:
                stream.attempts += 1
                logger.exception(
                    "stream handler %s failed (attempt %d of %d)", stream.config.name, stream.attempts, MAX_ATTEMPTS
                )
                if stream.attempts < MAX_ATTEMPTS:
                    # Same batch again next time, as Lambda retries a failed batch.
                    stream.iterators.pop(shard_id, None)
                    continue
                logger.error("stream handler %s: skipping %d records", stream.config.name, len(records))
            stream.attempts = 0
            delivered += len(records)
            self.checkpoints.setdefault(stream.arn, {})[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            self._save_checkpoints()
            stream.iterators[shard_id] = response.get("NextShardIterator") or self._iterator(stream, shard_id)
        return delivered

    def _load_checkpoints(self) -> dict[str, dict[str, str]]:
        if self.checkpoint_path is None or not self.checkpoint_path.exists():
            return {}
        try:
            return json.loads(self.checkpoint_path.read_text())  # type: ignore[no-any-return]
        except ValueError:
            logger.warning("ignoring an unreadable %s", self.checkpoint_path)
            return {}

    def _save_checkpoints(self) -> None:
        if self.checkpoint_path is None:
            return
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.checkpoints, indent=2, sort_keys=True))
        os.replace(tmp, self.checkpoint_path)

    # -- loop --

    def tick(self, now: float | None = None) -> None:
        self.run_schedules(now)
        if self.streams:
            self.poll_streams()

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        while not stop.is_set():
            self.tick()
            stop.wait(poll_seconds)


def load_app(app_dir: Path) -> Chalice:
    sys.path.insert(0, str(app_dir))
    module = importlib.import_module("app")
    return module.app  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_backend.events")
    parser.add_argument("--app-dir", type=Path, default=Path.cwd())
    parser.add_argument("--state-dir", type=Path, default=Path(".local"))
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--verbose", action="store_true", help="INFO logs (the AWS SDK's included)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    runner = EventRunner(
        load_app(args.app_dir),
        dynamodb=session.client("dynamodb"),
        streams=session.client("dynamodbstreams"),
        state_dir=args.state_dir,
        region=region,
    )
    names = [s.config.name for s in runner.schedules] + [s.config.name for s in runner.streams]
    logger.info("running event sources locally: %s", ", ".join(names) or "none")
    runner.run(stop, args.poll_seconds)
    return 0


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Checkpoints are written after every batch: end without unwinding the app's modules.
    os._exit(exit_code)
