"""Saves table and bucket: slots, the per-player slot count, pending uploads, objects.

Items of a player share the partition `P#<player>`:

- `SLOT#<slot>`: version, size, checksum, updated_at, storage (inline | s3), and either
  `data` (the canonical JSON text) or `s3_key`. A deleted slot leaves a marker
  (`deleted`, its last version, `expires_at`) so a re-created slot continues the version
  sequence: a device still holding an old version can never overwrite a newer slot that
  happens to carry the same number.
- `SLOTS`: `n`, the number of live slots, changed in the same transaction as a slot's
  creation or deletion, so the cap holds under concurrent creations.
- `UPLOAD#<upload_id>`: a presigned upload not yet committed (slot, size, sha256,
  expires_at).

Objects live under `saves/<player>/<slot>/<upload_id>`: every upload gets a fresh key, so
an upload never overwrites the committed object.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.errors import ConditionFailed
from chalicelib.storage import aws
from chalicelib.storage.cancellation import CONDITION, Cancellation, cancellation
from chalicelib.storage.errors import error_code, is_throttling
from chalicelib.storage.items import from_item, to_item, values
from chalicelib.storage.players import delete_partition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

SLOT_PREFIX = "SLOT#"
UPLOAD_PREFIX = "UPLOAD#"
COUNT = "SLOTS"
# Attributes a slot write sets; the rest of the item (PK, SK, version) is managed here.
SLOT_FIELDS = ("slot", "size", "checksum", "updated_at", "storage", "data", "s3_key")


def player_pk(player_id: str) -> str:
    return f"P#{player_id}"


def object_prefix(player_id: str) -> str:
    return f"saves/{player_id}/"


def object_key(player_id: str, slot: str, upload_id: str) -> str:
    return f"{object_prefix(player_id)}{slot}/{upload_id}"


class SlotCapReached(Exception):
    """The player already has the maximum number of slots."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} slots")
        self.limit = limit


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    sha256_b64: str | None  # S3's own checksum when the object carries one


@dataclass(frozen=True)
class SlotContent:
    """What a write puts in a slot: inline `data` (canonical JSON text) or an `s3_key`."""

    size: int
    checksum: str
    updated_at: str
    storage: str  # "inline" | "s3"
    data: str | None = None
    s3_key: str | None = None


@dataclass(frozen=True)
class SaveSlot:
    """A live slot. `data` is None in listings and for a save kept in S3."""

    slot: str
    version: int
    size: int
    checksum: str
    updated_at: str
    storage: str
    data: str | None = None
    s3_key: str | None = None


@dataclass(frozen=True)
class SlotState:
    """What is stored under a slot's name: nothing (version 0), a live slot, or the marker
    a deletion leaves (`deleted`, with the last version)."""

    version: int = 0
    deleted: bool = False
    updated_at: str | None = None
    s3_key: str | None = None

    @property
    def live(self) -> bool:
        return self.version > 0 and not self.deleted


@dataclass(frozen=True)
class PendingUpload:
    """A presigned upload not yet committed."""

    slot: str
    size: int
    sha256: str
    s3_key: str
    created_at: str
    expires_at: int


class SlotChanged(ConditionFailed):
    """A slot write found the slot in another state: `state` is the stored one, None when
    the write lost to a concurrent transaction without seeing it."""

    def __init__(self, state: SlotState | None) -> None:
        super().__init__()
        self.state = state


def _state(item: dict[str, Any] | None) -> SlotState:
    if not item:
        return SlotState()
    return SlotState(
        version=int(item.get("version", 0)),
        deleted=bool(item.get("deleted")),
        updated_at=item.get("updated_at"),
        s3_key=item.get("s3_key"),
    )


def _slot(item: dict[str, Any]) -> SaveSlot | None:
    """A live slot from a stored item; None for no item or a deleted-slot marker."""
    if not item or item.get("deleted"):
        return None
    return SaveSlot(
        slot=str(item["slot"]),
        version=int(item["version"]),
        size=int(item["size"]),
        checksum=str(item["checksum"]),
        updated_at=str(item["updated_at"]),
        storage=str(item["storage"]),
        data=item.get("data"),
        s3_key=item.get("s3_key"),
    )


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _slot_changed(write: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn a slot write's ConditionFailed (carrying the stored item) into SlotChanged."""

    @functools.wraps(write)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return write(*args, **kwargs)
        except SlotChanged:
            raise
        except ConditionFailed as failed:
            raise SlotChanged(_state(failed.item) if failed.item else None) from failed

    return wrapper


def _fields(slot: str, content: SlotContent) -> dict[str, Any]:
    return {"slot": slot, **asdict(content)}


class SavesRepository:
    """Every read and write of the saves table and bucket."""

    def __init__(
        self,
        *,
        client: DynamoDBClient | None = None,
        s3: S3Client | None = None,
        table: str | None = None,
        bucket: str | None = None,
    ) -> None:
        self._client = client
        self._s3 = s3
        self._table = table
        self._bucket = bucket

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    @property
    def s3(self) -> S3Client:
        return self._s3 or aws.s3()

    @property
    def table(self) -> str:
        return self._table or get_settings().table_name("saves")

    @property
    def bucket(self) -> str:
        return self._bucket or get_settings().bucket_name("saves")

    # slots ------------------------------------------------------------------------------

    def get_state(self, player_id: str, slot: str) -> SlotState:
        """What is stored under the slot's name (live, a deleted marker, or nothing)."""
        return _state(self._get_item(player_id, slot))

    def _get_item(self, player_id: str, slot: str) -> dict[str, Any]:
        """The stored slot item (live or a deleted marker), {} when there is none."""
        resp = self.client.get_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": SLOT_PREFIX + slot}),
            ConsistentRead=True,
        )
        return from_item(resp.get("Item"))

    def get_slot(self, player_id: str, slot: str) -> SaveSlot | None:
        return _slot(self._get_item(player_id, slot))

    def list_slots(self, player_id: str, *, after: str | None, limit: int) -> tuple[list[SaveSlot], str | None]:
        """Live slots in name order, without their data; the last slot name when more may follow."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :sk)",
            "ExpressionAttributeValues": values({":pk": player_pk(player_id), ":sk": SLOT_PREFIX}),
            "ExpressionAttributeNames": {
                "#sl": "slot",
                "#v": "version",
                "#s": "size",
                "#c": "checksum",
                "#u": "updated_at",
                "#st": "storage",
                "#d": "deleted",
            },
            "ProjectionExpression": "SK, #sl, #v, #s, #c, #u, #st, #d",
            "Limit": limit,
            "ConsistentRead": True,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = to_item({"PK": player_pk(player_id), "SK": SLOT_PREFIX + after})
        resp = self.client.query(**kwargs)
        slots = [s for s in (_slot(from_item(raw)) for raw in resp.get("Items", [])) if s is not None]
        last = resp.get("LastEvaluatedKey")
        return slots, (str(from_item(last)["SK"])[len(SLOT_PREFIX) :] if last else None)

    @_slot_changed
    def create_slot(
        self, player_id: str, slot: str, content: SlotContent, *, after_version: int, max_slots: int
    ) -> int:
        """Create a slot (none, or a deleted marker at `after_version`) and count it, in
        one transaction; returns the new version.

        Raises SlotChanged when the slot changed since it was read, SlotCapReached when
        the player has `max_slots` live slots.
        """
        version = after_version + 1
        names, vals, sets, removes = _set_fields(_fields(slot, content))
        names.update({"#v": "version", "#d": "deleted", "#x": "expires_at"})
        vals[":v"] = version
        if after_version == 0:
            condition = "attribute_not_exists(SK)"
        else:
            condition = "#v = :prev AND #d = :true"
            vals.update({":prev": after_version, ":true": True})
        slot_update: dict[str, Any] = {
            "TableName": self.table,
            "Key": to_item({"PK": player_pk(player_id), "SK": SLOT_PREFIX + slot}),
            "UpdateExpression": "SET " + ", ".join([*sets, "#v = :v"]) + " REMOVE " + ", ".join([*removes, "#d", "#x"]),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values(vals),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        count_update: dict[str, Any] = {
            "TableName": self.table,
            "Key": to_item({"PK": player_pk(player_id), "SK": COUNT}),
            "UpdateExpression": "ADD #n :one",
            "ConditionExpression": "attribute_not_exists(#n) OR #n < :max",
            "ExpressionAttributeNames": {"#n": "n"},
            "ExpressionAttributeValues": values({":one": 1, ":max": max_slots}),
        }
        try:
            self.client.transact_write_items(
                TransactItems=[{"Update": slot_update}, {"Update": count_update}]  # type: ignore[typeddict-item]
            )
        except ClientError as exc:
            cancelled = _lost_race(exc)
            if cancelled is None:
                raise
            if cancelled.failed(0):
                raise ConditionFailed(item=from_item(cancelled.item(0))) from exc
            if cancelled.failed(1):
                raise SlotCapReached(max_slots) from exc
            raise
        return version

    @_slot_changed
    def replace_slot(self, player_id: str, slot: str, content: SlotContent, *, expected_version: int) -> SlotState:
        """Overwrite a live slot at `expected_version`; returns the previous state.

        Raises SlotChanged with the stored state (no extra read) when it is not there.
        """
        names, vals, sets, removes = _set_fields(_fields(slot, content))
        names.update({"#v": "version", "#d": "deleted"})
        vals.update({":expected": expected_version, ":v": expected_version + 1})
        update = "SET " + ", ".join([*sets, "#v = :v"]) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            resp = self.client.update_item(
                TableName=self.table,
                Key=to_item({"PK": player_pk(player_id), "SK": SLOT_PREFIX + slot}),
                UpdateExpression=update,
                ConditionExpression="#v = :expected AND attribute_not_exists(#d)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values(vals),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConditionFailed(item=from_item(exc.response.get("Item"))) from exc  # type: ignore[arg-type]
            raise
        return _state(from_item(resp.get("Attributes")))

    @_slot_changed
    def delete_slot(
        self, player_id: str, slot: str, *, expected_version: int, now: str, marker_expires_at: int
    ) -> None:
        """Replace a live slot at `expected_version` by a deleted marker and uncount it.

        Raises SlotChanged when it is not there.
        """
        marker = {
            "PK": player_pk(player_id),
            "SK": SLOT_PREFIX + slot,
            "slot": slot,
            "version": expected_version + 1,
            "deleted": True,
            "updated_at": now,
            "expires_at": marker_expires_at,
        }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": to_item(marker),
                            "ConditionExpression": "#v = :expected AND attribute_not_exists(#d)",
                            "ExpressionAttributeNames": {"#v": "version", "#d": "deleted"},
                            "ExpressionAttributeValues": values({":expected": expected_version}),
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": to_item({"PK": player_pk(player_id), "SK": COUNT}),
                            "UpdateExpression": "ADD #n :minus",
                            "ExpressionAttributeNames": {"#n": "n"},
                            "ExpressionAttributeValues": values({":minus": -1}),
                        }
                    },
                ]
            )
        except ClientError as exc:
            cancelled = _lost_race(exc)
            if cancelled is not None and cancelled.failed(0):
                raise ConditionFailed(item=from_item(cancelled.item(0))) from exc
            raise

    # pending uploads ------------------------------------------------------------------

    def put_upload(self, player_id: str, upload_id: str, upload: PendingUpload) -> None:
        self.client.put_item(
            TableName=self.table,
            Item=to_item({"PK": player_pk(player_id), "SK": UPLOAD_PREFIX + upload_id, **asdict(upload)}),
        )

    def get_upload(self, player_id: str, upload_id: str) -> PendingUpload | None:
        resp = self.client.get_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": UPLOAD_PREFIX + upload_id}),
            ConsistentRead=True,
        )
        item = from_item(resp.get("Item"))
        if not item:
            return None
        return PendingUpload(
            slot=str(item["slot"]),
            size=int(item["size"]),
            sha256=str(item["sha256"]),
            s3_key=str(item["s3_key"]),
            created_at=str(item["created_at"]),
            expires_at=int(item["expires_at"]),
        )

    def delete_upload(self, player_id: str, upload_id: str) -> None:
        self.client.delete_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": UPLOAD_PREFIX + upload_id}),
        )

    # objects ----------------------------------------------------------------------------

    def upload_url(self, key: str, *, size: int, sha256_b64: str, expires_in: int) -> str:
        """A presigned PUT; S3 checks the signed length and SHA-256 as it receives the body."""
        return self.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentLength": size, "ChecksumSHA256": sha256_b64},
            ExpiresIn=expires_in,
        )

    def download_url(self, key: str, *, expires_in: int) -> str:
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )

    def head_object(self, key: str) -> ObjectInfo | None:
        try:
            resp = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound") and not is_throttling(exc):
                return None
            raise
        return ObjectInfo(size=int(resp.get("ContentLength", 0)), sha256_b64=resp.get("ChecksumSHA256"))

    def object_sha256(self, key: str, *, max_bytes: int) -> str | None:
        """SHA-256 (hex) of an object read back whole; None when it is over `max_bytes`."""
        body = self.s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes}")["Body"]
        digest = hashlib.sha256()
        read = 0
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            read += len(chunk)
            if read > max_bytes:
                body.close()
                return None
            digest.update(chunk)
        return digest.hexdigest()

    def delete_object(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def _object_keys(self, prefix: str) -> Iterator[list[str]]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": 1000}
        while True:
            resp = self.s3.list_objects_v2(**kwargs)
            keys = [obj["Key"] for obj in resp.get("Contents", []) if "Key" in obj]
            if keys:
                yield keys
            if not resp.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = resp["NextContinuationToken"]

    # erasure ----------------------------------------------------------------------------

    def erase_player(self, player_id: str) -> int:
        """Delete every object and item of the player; returns how many."""
        erased = 0
        for keys in self._object_keys(object_prefix(player_id)):
            resp = self.s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
            failed = resp.get("Errors", [])
            if failed:
                raise RuntimeError(f"{len(failed)} save objects were not deleted")
            erased += len(keys)
        return erased + delete_partition(self.client, self.table, player_pk(player_id))


def _set_fields(fields: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], list[str], list[str]]:
    """`SET` and `REMOVE` parts for the slot's fields: a field that is None is removed
    (inline data when the slot moves to S3, the object key when it moves back)."""
    names: dict[str, str] = {}
    vals: dict[str, Any] = {}
    sets: list[str] = []
    removes: list[str] = []
    for i, name in enumerate(SLOT_FIELDS):
        names[f"#f{i}"] = name
        value = fields.get(name)
        if value is None:
            removes.append(f"#f{i}")
        else:
            vals[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
    return names, vals, sets, removes


def _lost_race(exc: ClientError) -> Cancellation | None:
    """A transaction cancelled by a condition or by another transaction on the slot (a race
    lost, as with a condition: reported as the slot's condition failing); None otherwise."""
    cancelled = cancellation(exc)
    if cancelled is None or cancelled.throttled:
        return None
    if cancelled.conflict:
        return Cancellation(codes=(CONDITION, "None"), items=(None, None))
    return cancelled if cancelled.condition_failed else None
