"""moto's TransactWriteItems copies every table it touches (items and stream records) to
roll back a cancelled transaction: a cost that grows with the table. Here the rollback
keeps only the items the transaction names, and the stream records it added."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

_installed = False


def install() -> None:
    """Item-level rollback for moto's DynamoDB transactions (idempotent)."""
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if getattr(models, "copy", None) is not copy:  # another moto layout: leave it as it is
        return

    def deepcopy(value: Any, memo: Any = None) -> Any:
        # The only deepcopy of a Table in that module is the transaction's backup.
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = SimpleNamespace(deepcopy=deepcopy)  # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Any, Any, Any, Any]] = []
        stream_lengths: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            op: dict[str, Any] = next(iter(entry.values()), {})
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Item") or op.get("Key") or {}
            if table is None or table.hash_key_attr not in attrs:
                continue
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
            if table.range_key_attr and range_key is None:
                continue
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
            if table.stream_shard is not None:
                stream_lengths.setdefault(id(table), (table, len(table.stream_shard.items)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                bucket = table.items[hash_key] if range_key is not None else table.items
                key = range_key if range_key is not None else hash_key
                if item is None:
                    bucket.pop(key, None)
                else:
                    bucket[key] = item
                if range_key is not None and not table.items[hash_key]:
                    del table.items[hash_key]
            for table, length in stream_lengths.values():
                del table.stream_shard.items[length:]
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True
