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
    description="Game events, per player (PK) by event id (SK); the stream feeds analytics.",
)

ANALYTICS = Table(
    key="analytics",
    partition=PK,
    sort=SK,
    ttl_attribute="expires_at",
    description="Daily aggregates (sharded counters) and first-seen markers.",
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
