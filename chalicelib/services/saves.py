"""User progress: cloud-save slots with optimistic concurrency, large saves through S3.

Every write names the version it replaces (`expected_version`, 0 to create); a stale
one gets 409 with the current version and update time, so no write is silently lost.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import Conflict, Invalid, NotFound, TooLarge
from chalicelib.game_config.declarations import SavesConfig
from chalicelib.models.saves import SLOT_PATTERN
from chalicelib.observability import logger, metrics
from chalicelib.storage.saves import (
    PendingUpload,
    SaveSlot,
    SavesRepository,
    SlotCapReached,
    SlotChanged,
    SlotContent,
    SlotState,
    object_key,
)

_SLOT = re.compile(SLOT_PATTERN)
# A deleted slot's marker keeps its version this long, so a re-created slot continues
# the sequence; after that a device offline for longer could meet a reused number.
DELETED_MARKER_SECONDS = 30 * 86400
# Nesting a save may have: every JSON encoder on the way (ours, the client's) copes.
MAX_DEPTH = 64
# A pending upload stays committable a little past its URL's expiry (a PUT in flight).
UPLOAD_GRACE_SECONDS = 300


def check_slot(slot: str) -> str:
    if not _SLOT.fullmatch(slot):
        raise Invalid(
            "slot: 1-32 characters, lowercase letters, digits, '_' and '-', starting with a letter or digit",
            field="slot",
        )
    return slot


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (iteratively)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def canonical_bytes(data: Any) -> bytes:
    """The save's canonical JSON (sorted keys, no spaces, UTF-8): what size and checksum cover."""
    if _depth(data) > MAX_DEPTH:
        raise Invalid(f"data: arrays and objects nest more than {MAX_DEPTH} levels", field="data")
    try:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except ValueError:
        raise Invalid("data: numbers must be finite", field="data") from None


def _meta(slot: str, version: int, content: SaveSlot | SlotContent) -> dict[str, Any]:
    return {
        "slot": slot,
        "version": version,
        "size": content.size,
        "checksum": content.checksum,
        "updated_at": content.updated_at,
        "storage": content.storage,
    }


def _conflict(slot: str, state: SlotState, message: str = "") -> Conflict:
    """409 with the slot's current state; a missing or deleted slot is at version 0."""
    current = state.version if state.live else 0
    details = {
        "slot": slot,
        "current_version": current,
        "updated_at": state.updated_at if state.live else None,
    }
    return Conflict(
        message or f"slot {slot} is at version {current}: read it, merge, and write with that version",
        code="version_conflict",
        details=details,
    )


def list_slots(
    *, player_id: str, config: SavesConfig, repo: SavesRepository, limit: int, cursor: str | None
) -> dict[str, Any]:
    slots, next_cursor = repo.list_slots(player_id, after=cursor, limit=limit)
    return {
        "slots": [_meta(s.slot, s.version, s) for s in slots],
        "next_cursor": next_cursor,
        "max_slots": config.max_slots,
    }


def get_slot(
    *, player_id: str, slot: str, config: SavesConfig, repo: SavesRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    """A slot with its inline data, or a presigned GET URL for a save kept in S3."""
    item = repo.get_slot(player_id, check_slot(slot))
    if item is None:
        raise NotFound(f"no save in slot {slot}", code="slot_not_found", details={"slot": slot})
    view = _meta(item.slot, item.version, item)
    if item.storage == "s3":
        view["download_url"] = repo.download_url(str(item.s3_key), expires_in=config.download_url_seconds)
        view["download_expires_at"] = iso(clock() + config.download_url_seconds)
    else:
        view["data"] = json.loads(str(item.data))
    return view


def _write(
    *,
    player_id: str,
    slot: str,
    expected_version: int,
    content: SlotContent,
    config: SavesConfig,
    repo: SavesRepository,
) -> dict[str, Any]:
    """Write a slot's new version under the concurrency rule; returns its meta.

    The object of the replaced version (if it was in S3) is deleted after the write.
    """
    old = SlotState()
    if expected_version == 0:
        stored = repo.get_state(player_id, slot)
        if stored.live:
            raise _conflict(slot, stored)
        try:
            version = repo.create_slot(
                player_id,
                slot,
                content,
                after_version=stored.version,
                max_slots=config.max_slots,
            )
        except SlotCapReached as cap:
            raise Conflict(
                f"at most {cap.limit} save slots: delete one first",
                code="slot_limit",
                details={"slot": slot, "max_slots": cap.limit},
            ) from None
        except SlotChanged as changed:
            raise _conflict(slot, changed.state or repo.get_state(player_id, slot)) from None
    else:
        try:
            old = repo.replace_slot(player_id, slot, content, expected_version=expected_version)
        except SlotChanged as changed:
            raise _conflict(slot, changed.state or SlotState()) from None
        version = expected_version + 1
    if old.s3_key and old.s3_key != content.s3_key:
        repo.delete_object(old.s3_key)
    metrics.add_metric(name="SaveWrites", unit="Count", value=1)
    logger.info("save written", extra={"slot": slot, "version": version, "storage": content.storage})
    return _meta(slot, version, content)


def put_slot(
    *,
    player_id: str,
    slot: str,
    data: Any,
    expected_version: int,
    config: SavesConfig,
    repo: SavesRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Write inline data (up to the inline cap) as the slot's next version."""
    check_slot(slot)
    raw = canonical_bytes(data)
    if len(raw) > config.max_inline_bytes:
        raise TooLarge(
            f"data: {len(raw)} bytes over the inline cap of {config.max_inline_bytes}; "
            f"send it through POST /saves/{slot}/upload then POST /saves/{slot}/commit",
            code="save_too_large",
            details={
                "field": "data",
                "size": len(raw),
                "max_inline_bytes": config.max_inline_bytes,
                "max_object_bytes": config.max_object_bytes,
                "upload": f"/saves/{slot}/upload",
                "commit": f"/saves/{slot}/commit",
            },
        )
    content = SlotContent(
        size=len(raw),
        checksum=hashlib.sha256(raw).hexdigest(),
        updated_at=iso(clock()),
        storage="inline",
        data=raw.decode(),
    )
    return _write(
        player_id=player_id, slot=slot, expected_version=expected_version, content=content, config=config, repo=repo
    )


def delete_slot(
    *, player_id: str, slot: str, expected_version: int, repo: SavesRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    """Delete a slot at `expected_version` (and its S3 object)."""
    check_slot(slot)
    stored = repo.get_state(player_id, slot)
    if not stored.live:
        raise NotFound(f"no save in slot {slot}", code="slot_not_found", details={"slot": slot})
    if stored.version != expected_version:
        raise _conflict(slot, stored)
    now = clock()
    try:
        repo.delete_slot(
            player_id,
            slot,
            expected_version=expected_version,
            now=iso(now),
            marker_expires_at=int(now) + DELETED_MARKER_SECONDS,
        )
    except SlotChanged as changed:
        raise _conflict(slot, changed.state or repo.get_state(player_id, slot)) from None
    # The version matched, so the stored item read above is the one deleted.
    if stored.s3_key:
        repo.delete_object(stored.s3_key)
    logger.info("save deleted", extra={"slot": slot, "version": expected_version})
    return {"slot": slot, "deleted": True, "version": expected_version + 1}


def start_upload(
    *,
    player_id: str,
    slot: str,
    expected_version: int,
    size: int,
    sha256: str,
    config: SavesConfig,
    repo: SavesRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """A presigned PUT for a large save, to a fresh key; commit it with its upload id."""
    check_slot(slot)
    if size > config.max_object_bytes:
        raise TooLarge(
            f"size: {size} bytes over the cap of {config.max_object_bytes}",
            code="save_too_large",
            details={"field": "size", "size": size, "max_object_bytes": config.max_object_bytes},
        )
    # Refuse a stale version now rather than after the client has sent megabytes.
    stored = repo.get_state(player_id, slot)
    current = stored.version if stored.live else 0
    if current != expected_version:
        raise _conflict(slot, stored)
    upload_id = uuid.uuid4().hex
    key = object_key(player_id, slot, upload_id)
    now = clock()
    sha_b64 = base64.b64encode(bytes.fromhex(sha256)).decode()
    url = repo.upload_url(key, size=size, sha256_b64=sha_b64, expires_in=config.upload_url_seconds)
    repo.put_upload(
        player_id,
        upload_id,
        PendingUpload(
            slot=slot,
            size=size,
            sha256=sha256,
            s3_key=key,
            created_at=iso(now),
            expires_at=int(now) + config.upload_url_seconds + UPLOAD_GRACE_SECONDS,
        ),
    )
    logger.info("save upload started", extra={"slot": slot, "size": size, "upload_id": upload_id})
    return {
        "upload_id": upload_id,
        "url": url,
        "method": "PUT",
        "headers": {"Content-Length": str(size), "x-amz-checksum-sha256": sha_b64},
        "expires_at": iso(now + config.upload_url_seconds),
    }


def commit_upload(
    *,
    player_id: str,
    slot: str,
    upload_id: str,
    expected_version: int,
    config: SavesConfig,
    repo: SavesRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Check the uploaded object's size and SHA-256, then make it the slot's next version.

    A wrong size or checksum refuses the commit, deletes the upload, and leaves the slot
    as it was.
    """
    check_slot(slot)
    now = clock()
    upload = repo.get_upload(player_id, upload_id)
    if upload is None or upload.slot != slot or upload.expires_at <= now:
        raise NotFound(
            "upload_id: no pending upload with this id for this slot (expired or already committed)",
            code="upload_not_found",
            details={"field": "upload_id"},
        )
    key = upload.s3_key
    info = repo.head_object(key)
    if info is None:
        raise Invalid("upload_id: nothing was uploaded to the URL yet", field="upload_id", code="upload_missing")
    problem = None
    if info.size != upload.size:
        problem = f"the object has {info.size} bytes, {upload.size} were announced"
    elif info.sha256_b64 is not None:
        # S3 verified the body against the signed checksum when it received it.
        if base64.b64decode(info.sha256_b64).hex() != upload.sha256:
            problem = "the object's SHA-256 is not the one announced"
    elif repo.object_sha256(key, max_bytes=config.max_object_bytes) != upload.sha256:
        problem = "the object's SHA-256 is not the one announced"
    if problem is not None:
        repo.delete_object(key)
        repo.delete_upload(player_id, upload_id)
        logger.warning("save upload refused", extra={"slot": slot, "upload_id": upload_id, "problem": problem})
        raise Invalid(
            f"sha256: {problem}; the slot keeps its version, start a new upload",
            field="sha256",
            code="checksum_mismatch",
        )
    content = SlotContent(size=info.size, checksum=upload.sha256, updated_at=iso(now), storage="s3", s3_key=key)
    # On a conflict the upload stays committable (against the current version) until it expires.
    written = _write(
        player_id=player_id, slot=slot, expected_version=expected_version, content=content, config=config, repo=repo
    )
    repo.delete_upload(player_id, upload_id)
    return written


def erase_saves(player_id: str) -> int:
    """Account deletion: every slot, marker, pending upload and S3 object of the player."""
    return SavesRepository().erase_player(player_id)
