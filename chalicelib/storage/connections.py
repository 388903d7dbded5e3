"""Connections table: the open WebSocket connections of each player (one per device).

Keys:
  P#<player> / C#<connection id>    an open connection; CPK = S#<shard>, CID = the id
                                    (the sparse, keys-only GSI `by_connection`)

The shard is a hash of the connection id, so `$disconnect` (which knows only the id)
finds the player with one Query of one shard, and a broadcast reads every open
connection with one Query per shard. Items expire with API Gateway's two-hour limit;
reads treat an expired item as gone (DynamoDB's TTL may delete it days late).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.storage.base import TableRepository
from chalicelib.storage.items import from_item, to_item, values
from chalicelib.storage.players import delete_partition

SHARDS = 16
# More devices than this on one account: the oldest beyond it are not pushed to.
MAX_CONNECTIONS_PER_PLAYER = 20
BY_CONNECTION = "by_connection"


def player_pk(player_id: str) -> str:
    return f"P#{player_id}"


def connection_sk(connection_id: str) -> str:
    return f"C#{connection_id}"


def shard_of(connection_id: str) -> str:
    digest = hashlib.sha256(connection_id.encode()).digest()
    return f"S#{int.from_bytes(digest[:4], 'big') % SHARDS}"


@dataclass(frozen=True)
class Connection:
    connection_id: str
    player_id: str
    connected_at: float
    expires_at: int


def _connection(item: dict[str, Any]) -> Connection:
    data = from_item(item)
    return Connection(
        connection_id=str(data["CID"]),
        player_id=str(data["PK"])[len("P#") :],
        connected_at=float(data.get("connected_at", 0)),
        expires_at=int(data.get("expires_at", 0)),
    )


class ConnectionsRepository(TableRepository):
    """Every read and write of the connections table."""

    table_key = "connections"

    def add(self, connection: Connection) -> None:
        """Record an open connection (a retried `$connect` writes the same item again)."""
        self.client.put_item(
            TableName=self.table,
            Item=to_item(
                {
                    "PK": player_pk(connection.player_id),
                    "SK": connection_sk(connection.connection_id),
                    "CPK": shard_of(connection.connection_id),
                    "CID": connection.connection_id,
                    "connected_at": connection.connected_at,
                    "expires_at": connection.expires_at,
                }
            ),
        )

    def of_player(self, player_id: str, now: float) -> list[Connection]:
        """The player's open connections: one strongly consistent Query of one partition."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
            ExpressionAttributeValues=values({":pk": player_pk(player_id), ":c": "C#"}),
            ConsistentRead=True,
            Limit=MAX_CONNECTIONS_PER_PLAYER,
        )
        found = [_connection(item) for item in resp.get("Items", [])]
        return [c for c in found if c.expires_at > now]

    def owner(self, connection_id: str) -> str | None:
        """The player of a connection, from the keys-only index (None when unknown)."""
        resp = self.client.query(
            TableName=self.table,
            IndexName=BY_CONNECTION,
            KeyConditionExpression="CPK = :s AND CID = :c",
            ExpressionAttributeValues=values({":s": shard_of(connection_id), ":c": connection_id}),
            Limit=1,
        )
        items = resp.get("Items", [])
        return str(from_item(items[0])["PK"])[len("P#") :] if items else None

    def remove(self, player_id: str, connection_id: str) -> None:
        """Forget a connection (idempotent)."""
        self.client.delete_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": connection_sk(connection_id)}),
        )

    def every_open(self, page_size: int = 500) -> Iterator[tuple[str, str]]:
        """(player id, connection id) of every connection: one paged Query per shard.

        The index is eventually consistent: a connection opened a moment ago may be missed
        by a broadcast; it finds the broadcast in its inbox.
        """
        for shard in range(SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": BY_CONNECTION,
                "KeyConditionExpression": "CPK = :s",
                "ExpressionAttributeValues": values({":s": f"S#{shard}"}),
                "Limit": page_size,
            }
            while True:
                resp = self.client.query(**kwargs)
                for item in resp.get("Items", []):
                    data = from_item(item)
                    yield str(data["PK"])[len("P#") :], str(data["CID"])
                last = resp.get("LastEvaluatedKey")
                if not last:
                    break
                kwargs["ExclusiveStartKey"] = last

    def erase(self, player_id: str) -> int:
        return delete_partition(self.client, self.table, player_pk(player_id))
