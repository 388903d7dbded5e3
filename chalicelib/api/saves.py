"""User progress routes: cloud-save slots, large saves through S3, the seed `/user-progress`."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.api.http import Call, route
from chalicelib.api.seed import action_as
from chalicelib.game_config import get_game_config
from chalicelib.models.common import SeedEnvelope
from chalicelib.models.saves import (
    CommitRequest,
    SaveDeleted,
    SaveDeleteQuery,
    SaveListQuery,
    SaveWrite,
    SaveWritten,
    SeedProgressDelete,
    SeedProgressList,
    SeedProgressLoad,
    SeedProgressPayload,
    SeedProgressSave,
    SlotList,
    SlotMeta,
    SlotView,
    UploadRequest,
    UploadTicket,
)
from chalicelib.services import saves
from chalicelib.storage.saves import SavesRepository

bp = Blueprint(__name__)
TAGS = ("saves",)


@route(bp, "/saves", query=SaveListQuery, response=SlotList, tags=TAGS)
def list_saves(call: Call) -> dict[str, Any]:
    """The caller's slots (without their data), in name order, paged."""
    return saves.list_slots(
        player_id=call.player_id,
        config=get_game_config().saves,
        repo=SavesRepository(),
        limit=call.query.limit,
        cursor=call.query.cursor,
    )


@route(bp, "/saves/{slot}", response=SlotView, tags=TAGS, errors=(404,))
def get_save(call: Call, slot: str) -> SlotView:
    """One slot: inline `data`, or a presigned `download_url` for a save kept in S3."""
    view = saves.get_slot(player_id=call.player_id, slot=slot, config=get_game_config().saves, repo=SavesRepository())
    return SlotView.model_validate(view)


@route(
    bp, "/saves/{slot}", methods=("PUT",), body=SaveWrite, response=SaveWritten, tags=TAGS, errors=(409,), idempotent=True
)
def put_save(call: Call, slot: str) -> dict[str, Any]:
    """Write the slot if it is at `expected_version` (0 creates it); 409 with the current version if not."""
    return saves.put_slot(
        player_id=call.player_id,
        slot=slot,
        data=call.body.data,
        expected_version=call.body.expected_version,
        config=get_game_config().saves,
        repo=SavesRepository(),
    )


@route(
    bp, "/saves/{slot}", methods=("DELETE",), query=SaveDeleteQuery, response=SaveDeleted, tags=TAGS, errors=(404, 409)
)
def delete_save(call: Call, slot: str) -> dict[str, Any]:
    """Delete the slot (and its S3 object) if it is at `?expected_version=`."""
    return saves.delete_slot(
        player_id=call.player_id, slot=slot, expected_version=call.query.expected_version, repo=SavesRepository()
    )


@route(
    bp,
    "/saves/{slot}/upload",
    methods=("POST",),
    body=UploadRequest,
    response=UploadTicket,
    status=201,
    tags=TAGS,
    errors=(409,),
)
def start_upload(call: Call, slot: str) -> dict[str, Any]:
    """A presigned PUT URL for a large save; send the object with the given headers, then commit."""
    return saves.start_upload(
        player_id=call.player_id,
        slot=slot,
        expected_version=call.body.expected_version,
        size=call.body.size,
        sha256=call.body.sha256,
        config=get_game_config().saves,
        repo=SavesRepository(),
    )


@route(
    bp,
    "/saves/{slot}/commit",
    methods=("POST",),
    body=CommitRequest,
    response=SaveWritten,
    tags=TAGS,
    errors=(404, 409),
    idempotent=True,
)
def commit_upload(call: Call, slot: str) -> dict[str, Any]:
    """Check the uploaded object's size and SHA-256 and make it the slot's next version."""
    return saves.commit_upload(
        player_id=call.player_id,
        slot=slot,
        upload_id=call.body.upload_id,
        expected_version=call.body.expected_version,
        config=get_game_config().saves,
        repo=SavesRepository(),
    )


# -- seed adapter -------------------------------------------------------------------------


class SeedProgressResponse(BaseModel):
    message: str | None = None
    player_id: str
    slot: str | None = None
    version: int | None = None
    size: int | None = None
    checksum: str | None = None
    updated_at: str | None = None
    storage: str | None = None
    data: Any = None
    download_url: str | None = None
    download_expires_at: str | None = None
    slots: list[SlotMeta] | None = None
    next_cursor: str | None = None
    max_slots: int | None = None
    deleted: bool | None = None


@route(
    bp,
    "/user-progress",
    methods=("POST",),
    body=SeedEnvelope,
    response=SeedProgressResponse,
    tags=("seed",),
    errors=(404, 409, 413),
    idempotent=True,
)
def seed_user_progress(call: Call) -> dict[str, Any]:
    """Seed adapter over the saves service: save, load, list or delete a slot."""
    envelope: SeedEnvelope = call.body
    fields = envelope.payload
    # The seed client may leave the action out: save when it sends data, load a slot it names.
    action = (
        envelope.action
        or fields.get("action")
        or ("save" if "data" in fields else "load" if "slot" in fields else "list")
    )
    request = action_as(SeedProgressPayload, {**fields, "action": action})
    config = get_game_config().saves
    repo = SavesRepository()
    out: dict[str, Any] = {"player_id": call.player_id}
    match request:
        case SeedProgressList():
            listed = saves.list_slots(player_id=call.player_id, config=config, repo=repo, limit=100, cursor=None)
            return {**out, **listed}
        case SeedProgressLoad():
            return {**out, **saves.get_slot(player_id=call.player_id, slot=request.slot, config=config, repo=repo)}
        case SeedProgressSave():
            written = saves.put_slot(
                player_id=call.player_id,
                slot=request.slot,
                data=request.data,
                expected_version=request.expected_version,
                config=config,
                repo=repo,
            )
            return {"message": "Progress saved", **out, **written}
        case SeedProgressDelete():
            deleted = saves.delete_slot(
                player_id=call.player_id, slot=request.slot, expected_version=request.expected_version, repo=repo
            )
            return {"message": "Progress deleted", **out, **deleted}
    raise AssertionError(f"unhandled seed action {request!r}")
