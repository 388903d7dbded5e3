"""The one definition of the data: tables, keys, indexes, TTL, streams and buckets.

Everything that creates or describes storage reads this module: the local stand-in's
provisioning, the AWS provisioning command, the CloudFormation resources merged into
`chalice package` and the IAM policies. Key *formats* live in the repositories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AttrType = Literal["S", "N", "B"]
StreamView = Literal["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"]


@dataclass(frozen=True)
class Key:
    name: str
    type: AttrType = "S"


@dataclass(frozen=True)
class Index:
    """A global secondary index (projection ALL unless keys_only)."""

    name: str
    partition: Key
    sort: Key | None = None
    keys_only: bool = False


@dataclass(frozen=True)
class Table:
    """A DynamoDB table, on-demand capacity."""

    key: str  # logical name; the physical name comes from the settings
    partition: Key
    sort: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream: StreamView | None = None
    description: str = ""

    @property
    def attributes(self) -> dict[str, AttrType]:
        """Every attribute used in a key of the table or one of its indexes."""
        attrs: dict[str, AttrType] = {}
        for key in (self.partition, self.sort):
            if key is not None:
                attrs[key.name] = key.type
        for index in self.indexes:
            for key in (index.partition, index.sort):
                if key is not None:
                    attrs[key.name] = key.type
        return attrs


@dataclass(frozen=True)
class Bucket:
    key: str
    description: str = ""
    cors: bool = True  # presigned uploads from game clients


@dataclass(frozen=True)
class DataDefinition:
    tables: tuple[Table, ...] = field(default_factory=tuple)
    buckets: tuple[Bucket, ...] = field(default_factory=tuple)

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(f"no table {key!r} in the data definition")


PK = Key("PK")
SK = Key("SK")

PLAYERS = Table(
    key="players",
    partition=PK,
    sort=SK,
    # Profiles carry NPK (their folded display name) so the console finds a player by name.
    indexes=(Index("by_name", Key("NPK"), Key("NSK")),),
    ttl_attribute="expires_at",
    description="Profiles, stats and per-player bookkeeping; rate-limit windows; email claims.",
)

LEADERBOARDS = Table(
    key="leaderboards",
    partition=PK,
    sort=SK,
    indexes=(Index("by_score", Key("GSI1PK"), Key("GSI1SK")),),
    ttl_attribute="expires_at",
    description="Board entries, rank counters and archived periods.",
)

MATCHMAKING = Table(
    key="matchmaking",
    partition=PK,
    sort=SK,
    indexes=(
        Index("waiting", Key("WPK"), Key("skill", "N")),
        Index("open_by_timeout", Key("XPK"), Key("timeout_at", "N"), keys_only=True),
        # Sparse: only match items carry RPK (hour and shard), for the console's recent matches.
        Index("recent_matches", Key("RPK"), Key("created_at", "N")),
    ),
    ttl_attribute="expires_at",
    description="Tickets, matches and recent wait times; `waiting` and `open_by_timeout` are sparse.",
)

ACHIEVEMENTS = Table(
    key="achievements",
    partition=PK,
    sort=SK,
    description="Per-player achievement progress and sharded rarity counters.",
)

NOTIFICATIONS = Table(
    key="notifications",
    partition=PK,
    sort=SK,
    # Sparse: only unread inbox items carry USK, so `unread_only` pages read no read items.
    indexes=(Index("unread", PK, Key("USK")),),
    ttl_attribute="expires_at",
    description="Per-player inboxes, unread counters, broadcasts and read markers.",
)

SAVES = Table(
    key="saves",
    partition=PK,
    sort=SK,
    ttl_attribute="expires_at",
    description="Cloud-save slots (inline data or a pointer to the saves bucket), slot counts, "
    "pending uploads and deleted-slot markers.",
)

EVENTS = Table(
    key="events",
    partition=PK,
    sort=SK,
    ttl_attribute="expires_at",
    stream="NEW_IMAGE",
    description="Game events, per player (PK) by event id (SK), written with their analytics counts.",
)

ANALYTICS = Table(
    key="analytics",
    partition=PK,
    sort=SK,
    ttl_attribute="expires_at",
    description="Daily aggregates (sharded counters) and first-seen markers.",
)

CONNECTIONS = Table(
    key="connections",
    partition=PK,
    sort=SK,
    # Sparse and keys-only: one entry per open connection, its partition a shard of the
    # connection id, so $disconnect finds a connection's player and a broadcast reads
    # every open connection in a fixed number of Queries, never a Scan.
    indexes=(Index("by_connection", Key("CPK"), Key("CID"), keys_only=True),),
    ttl_attribute="expires_at",
    description="Open WebSocket connections, several per player (one per device); "
    "expire with API Gateway's two-hour connection limit.",
)

IDEMPOTENCY = Table(
    key="idempotency",
    partition=Key("id"),
    ttl_attribute="expiration",
    description="Answers of writes sent with an Idempotency-Key (Powertools' idempotency records).",
)

AUDIT = Table(
    key="audit",
    partition=PK,
    sort=SK,
    # Every entry also under its target (a player, a board...), newest last.
    indexes=(Index("by_target", Key("TPK"), SK),),
    description="The admin audit log: who wrote what, when, to which target, and why; append-only.",
)

SAVES_BUCKET = Bucket(key="saves", description="Large cloud saves, uploaded by presigned URL.")

DATA = DataDefinition(
    tables=(
        PLAYERS,
        LEADERBOARDS,
        MATCHMAKING,
        ACHIEVEMENTS,
        NOTIFICATIONS,
        SAVES,
        EVENTS,
        ANALYTICS,
        CONNECTIONS,
        IDEMPOTENCY,
        AUDIT,
    ),
    buckets=(SAVES_BUCKET,),
)

# The user pool's password rule, shared by local provisioning, CloudFormation and the
# request models: length over composition (NIST SP 800-63B); guests get 32 random chars.
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256
PASSWORD_POLICY = {
    "MinimumLength": PASSWORD_MIN_LENGTH,
    "RequireUppercase": False,
    "RequireLowercase": False,
    "RequireNumbers": False,
    "RequireSymbols": False,
}


# -- Deployment: queues, the stream consumer, API settings and alarms ------------------
# Read by tools.cfn (the CloudFormation stack), tools.iam (the functions' policy) and the
# tests that compare them; the app itself never reads these at run time. Each setting is
# justified in the README's "Deploying" section. Add a queue, a consumer or an API here
# and every path that deploys picks it up.


@dataclass(frozen=True)
class Queue:
    """An SQS queue (encrypted, named `<prefix>-<key>`), alarmed when messages wait in it."""

    key: str
    description: str = ""
    retention_days: int = 14
    alarm_depth: int = 1  # alarm when at least this many messages are visible


@dataclass(frozen=True)
class StreamConsumer:
    """How a table's stream is read by the app's `on_dynamodb_record` handler."""

    table: str  # key of a table with a stream
    on_failure_queue: str  # key of a Queue: what could not be processed after the retries
    max_retries: int = 3
    bisect_on_error: bool = True  # split a failing batch to isolate the poison record
    max_record_age_seconds: int = 6 * 3600
    iterator_age_alarm_seconds: int = 300


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API's stage: kind, throttling, logs, tracing."""

    # "http": an API Gateway HTTP API, $1.00 a million requests against $3.50 for a REST
    # API (the largest line of `make cost` after DynamoDB writes); the app answers every
    # route and unknown path itself. "rest": the REST API Chalice declares, for a studio
    # that wants what only it has (gateway answers in the app's error shape, X-Ray sampling
    # at the stage, WAF). See the README's "Deploying".
    kind: Literal["http", "rest"] = "http"
    rate_limit: float = 200.0  # requests per second, steady, for the whole stage
    burst_limit: int = 400
    # Unauthenticated routes (account creation, sign-in) get a stricter limit per route.
    strict_prefixes: tuple[str, ...] = ("/auth/",)
    strict_rate_limit: float = 20.0
    strict_burst_limit: int = 40
    log_retention_days: int = 30
    tracing: bool = True  # REST API only: an HTTP API cannot sample (see trace_sample_rate)
    # X-Ray records this share of the REST API's requests (a sampling rule on the stage,
    # no per-second reservoir), and the functions trace only what the API sampled: X-Ray's
    # default (the first request each second and 5 % of the rest) traces nearly every
    # request of a small game, WebSocket and scheduled invocations included, which cost
    # more than the DynamoDB writes of 1,000 daily players (`make cost`).
    trace_sample_rate: float = 0.05


@dataclass(frozen=True)
class WebSocketSettings:
    """The WebSocket API's stage (routes $connect, $default, $disconnect come from the app)."""

    stage: str = "api"  # Chalice's stage name: wss://<api>.execute-api.<region>.amazonaws.com/api
    rate_limit: float = 100.0  # messages and connects per second, steady, for the stage
    burst_limit: int = 200
    # What the functions may call on `@connections`: post a push, close a deleted
    # account's sockets. (GET is never used.)
    management_methods: tuple[str, ...] = ("POST", "DELETE")


@dataclass(frozen=True)
class AlarmSettings:
    """Thresholds of the stage's alarms (each over 5-minute periods unless said)."""

    api_5xx_rate: float = 0.01  # share of requests answered 5xx
    lambda_errors: int = 1
    lambda_throttles: int = 1
    dynamodb_throttles: int = 1
    evaluation_periods: int = 1


@dataclass(frozen=True)
class DeploymentDefinition:
    queues: tuple[Queue, ...] = ()
    stream_consumers: tuple[StreamConsumer, ...] = ()
    api: ApiSettings = field(default_factory=ApiSettings)
    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    websocket: WebSocketSettings | None = None

    def queue(self, key: str) -> Queue:
        for queue in self.queues:
            if queue.key == key:
                return queue
        raise KeyError(f"no queue {key!r} in the deployment definition")


# Events are counted when they are stored, so no handler reads a stream today. A handler
# added with `@app.on_dynamodb_record` needs its StreamConsumer here (retries, bisection,
# a failure queue): packaging refuses a stream handler without one.
DEPLOYMENT = DeploymentDefinition(
    websocket=WebSocketSettings(),
)
