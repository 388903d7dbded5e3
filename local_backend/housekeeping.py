"""What keeps the stand-in's memory proportional to live data, as DynamoDB's is.

moto, as shipped, grows without bound under play:

- `TransactWriteItems` deep-copies every table a transaction touches (once per item) to
  roll back a cancelled transaction. Memory and time per transaction grow with the
  tables. `install_moto_patches()` replaces that copy with an undo log of the items the
  transaction names: a transaction costs what it writes, whatever the table's size.
- DynamoDB Streams records are kept forever; DynamoDB trims them after 24 hours. moto
  holds each as nested dicts, about 3.3 KB for a 200-byte item (twice that with both
  images); the stand-in keeps each compressed (`CompactStreamRecord`, about 0.5 KB).
- Time to Live is stored but never applied; DynamoDB deletes expired items in the
  background (the deletion is a stream record with a service `userIdentity`).
- Cognito keeps every ID and access token it ever issued, long after they expired.
- A read of a missing item in a table with a sort key leaves an empty partition behind.
- Every model object moto makes (each item version, stream record, token) is kept in a
  class-level list for its dashboard, even once replaced, deleted or trimmed: memory grows
  with the number of writes. The stand-in keeps none (it has no dashboard).
- (Fidelity, not memory) an UpdateItem creating an item writes two INSERT stream records.

`housekeep(now)` does the periodic part; the stand-in runs it every minute under its
request lock, and tests call it with a clock of their own.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import logging
import os
import pickle
import zlib
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

# DynamoDB keeps stream records 24 hours. Compressed, one takes about 0.5 KB (a 200-byte
# item): at a sustained 10 writes/s that is about 450 MB after a day; LOCAL_STREAM_RETENTION_SECONDS
# shortens it.
STREAM_RETENTION_SECONDS = int(os.environ.get("LOCAL_STREAM_RETENTION_SECONDS") or 24 * 3600)
# DynamoDB leaves alone items whose expiry is more than five years in the past.
TTL_MAX_AGE_SECONDS = 5 * 365 * 24 * 3600
# As the Streams API spells it (Lambda events spell it `type` and `principalId`).
TTL_USER_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}

_installed = False


@dataclass
class HousekeepingReport:
    """What one `housekeep` pass removed."""

    expired_items: int = 0
    stream_records: int = 0
    tokens: int = 0
    empty_partitions: int = 0
    per_table: dict[str, int] = field(default_factory=dict)


# -- transactions ---------------------------------------------------------------------


class _NoTableCopy:
    """Stands in for the `copy` module inside moto's DynamoDB models: a Table is not
    deep-copied (the undo log below restores what a cancelled transaction wrote)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else self._real.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _target(backend: Any, transact_item: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """(table, hash key, range key) one transaction item writes; None if it names none."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        (op_type, op), *_ = transact_item.items()
        table = backend.tables.get(op.get("TableName"))
        if table is None or op_type == "ConditionCheck":
            return None
        key = op["Item"] if op_type == "Put" else op["Key"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return table, hash_value, range_value


def _restore(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    """Put `item` (None: nothing) back at its key, without a stream record."""
    if range_value is not None:
        partition = table.items[hash_value]
        if item is None:
            partition.pop(range_value, None)
            if not partition:
                del table.items[hash_value]
        else:
            partition[range_value] = item
    elif item is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = item


def _transact_write_items_with_undo(original: Any) -> Any:
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        undo: list[tuple[Any, Any, Any, Any]] = []
        streams: dict[int, tuple[Any, int]] = {}
        for transact_item in transact_items if isinstance(transact_items, list) else []:
            target = _target(self, transact_item)
            if target is None:
                continue
            table, hash_value, range_value = target
            current = table.get_item(hash_value, range_value)
            # An update changes the stored item in place: keep a copy of this one item.
            undo.append((table, hash_value, range_value, copy.deepcopy(current)))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(undo):
                _restore(table, hash_value, range_value, item)
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    transact_write_items.__wrapped__ = original  # type: ignore[attr-defined]
    return transact_write_items


def _update_item_one_record(original: Any) -> Any:
    """moto's UpdateItem on a missing item writes two INSERT records (an empty item, then
    the updated one); DynamoDB writes one."""

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        shard = getattr(self.tables.get(table_name), "stream_shard", None)
        before = len(shard.items) if shard is not None else 0
        result = original(self, table_name, *args, **kwargs)
        if shard is not None and len(shard.items) == before + 2:
            empty, updated = (record.record for record in shard.items[-2:])
            if empty["eventName"] == updated["eventName"] == "INSERT":
                updated["dynamodb"]["SequenceNumber"] = empty["dynamodb"]["SequenceNumber"]
                shard.items[-1].record = updated
                del shard.items[-2]
        return result

    update_item.__wrapped__ = original  # type: ignore[attr-defined]
    return update_item


class CompactStreamRecord:
    """A stream record kept compressed: what moto's `StreamRecord` holds, pickled (so every
    value comes back with its type) and zlib-compressed. Reading `record` gives a fresh
    dict; a change is kept by assigning it back."""

    __slots__ = ("__weakref__", "_blob", "created")

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    @property
    def record(self) -> dict[str, Any]:
        return pickle.loads(zlib.decompress(self._blob))  # type: ignore[no-any-return]  # our own bytes

    @record.setter
    def record(self, value: dict[str, Any]) -> None:
        self.created = _created(value)
        self._blob = zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)

    def to_json(self) -> dict[str, Any]:
        return self.record


def _created(record: dict[str, Any]) -> float:
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    return float(created.replace(tzinfo=created.tzinfo or dt.UTC).timestamp())


def _created_at(stream_record: Any) -> float:
    """When a record was written: kept beside a compact record, read from moto's own."""
    created = getattr(stream_record, "created", None)
    return float(created) if isinstance(created, float) else _created(stream_record.record)


def _stream_add(original: Any) -> Any:
    def add(self: Any, old: Any, new: Any) -> None:
        before = len(self.items)
        original(self, old, new)
        for index in range(before, len(self.items)):
            if not isinstance(self.items[index], CompactStreamRecord):
                self.items[index] = CompactStreamRecord(self.items[index].record)

    add.__wrapped__ = original  # type: ignore[attr-defined]
    return add


def _stream_get(original: Any) -> Any:
    def get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        # A reader more than 24 h behind starts at the oldest record kept.
        return original(self, max(start, self.starting_sequence_number), quantity)  # type: ignore[no-any-return]

    get.__wrapped__ = original  # type: ignore[attr-defined]
    return get


def install_moto_patches() -> None:
    """Make moto's DynamoDB cost what DynamoDB costs; idempotent."""
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as models
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard

    if not isinstance(models.copy, _NoTableCopy):
        models.copy = _NoTableCopy(models.copy)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items_with_undo(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items
    )
    DynamoDBBackend.update_item = _update_item_one_record(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    StreamShard.get = _stream_get(StreamShard.get)  # type: ignore[method-assign]
    StreamShard.add = _stream_add(StreamShard.add)  # type: ignore[method-assign]
    BaseModel.__new__ = staticmethod(_untracked_new(BaseModel))  # type: ignore[method-assign,assignment]
    reset_model_data()  # what was tracked before
    _installed = True


def _untracked_new(base: type) -> Any:
    """moto's `BaseModel.__new__` without appending the instance to `instances_tracked`."""

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return super(base, cls).__new__(cls)

    return new


# -- the periodic part ----------------------------------------------------------------


def _dynamodb_backends() -> list[Any]:
    from moto.dynamodb.models import dynamodb_backends

    return [backend for regions in dynamodb_backends.values() for backend in regions.values()]


def _cognito_backends() -> list[Any]:
    from moto.cognitoidp.models import cognitoidp_backends

    return [backend for regions in cognitoidp_backends.values() for backend in regions.values()]


def _expiry(item: Any, attribute: str) -> float | None:
    value = item.attrs.get(attribute)
    if value is None or value.type != "N":
        return None
    try:
        return float(value.value)
    except (TypeError, ValueError):
        return None


def _expire_items(table: Any, now: float) -> int:
    attribute = table.ttl.get("AttributeName")
    if table.ttl.get("TimeToLiveStatus") != "ENABLED" or not attribute:
        return 0
    expired = []
    for item in table.all_items():
        expiry = _expiry(item, attribute)
        if expiry is not None and now - TTL_MAX_AGE_SECONDS <= expiry < now:
            expired.append(item)
    for item in expired:
        table.delete_item(item.hash_key, item.range_key)
        if table.stream_shard is not None and table.stream_shard.items:
            last = table.stream_shard.items[-1]
            last.record = {**last.record, "userIdentity": dict(TTL_USER_IDENTITY)}
    return len(expired)


def _trim_stream(table: Any, now: float) -> int:
    shard = table.stream_shard
    if shard is None or not shard.items:
        return 0
    cutoff = now - STREAM_RETENTION_SECONDS
    keep_from = 0
    for record in shard.items:
        if _created_at(record) >= cutoff:
            break
        keep_from += 1
    if keep_from:
        del shard.items[:keep_from]
        shard.starting_sequence_number += keep_from
    return keep_from


def _drop_empty_partitions(table: Any) -> int:
    if table.range_key_attr is None:
        return 0
    empty = [key for key, partition in table.items.items() if not partition]
    for key in empty:
        del table.items[key]
    return len(empty)


def _jwt_expiry(token: str) -> float | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _prune_tokens(now: float) -> int:
    removed = 0
    for backend in _cognito_backends():
        for pool in backend.user_pools.values():
            for tokens in (pool.id_tokens, pool.access_tokens):
                for token in [t for t in tokens if (_jwt_expiry(t) or now) < now]:
                    del tokens[token]
                    removed += 1
            # Revoked refresh tokens (signed out or deleted users) are kept as None.
            for token in [t for t, owner in pool.refresh_tokens.items() if owner is None]:
                del pool.refresh_tokens[token]
                removed += 1
    return removed


def housekeep(now: float) -> HousekeepingReport:
    """One pass over every table and user pool; call with the stand-in's lock held."""
    report = HousekeepingReport()
    for backend in _dynamodb_backends():
        for name, table in list(backend.tables.items()):
            expired = _expire_items(table, now)
            report.expired_items += expired
            report.stream_records += _trim_stream(table, now)
            report.empty_partitions += _drop_empty_partitions(table)
            if expired:
                report.per_table[name] = expired
    report.tokens = _prune_tokens(now)
    return report
