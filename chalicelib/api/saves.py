"""User progress routes: cloud-save slots, large saves through S3, the seed `/user-progress`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.api.seed import action_as

if TYPE_CHECKING:
    from chalicelib.models.common import SeedEnvelope
    from chalicelib.models.saves import SlotView


bp = Blueprint(__name__)
TAGS = ("saves",)


@route(
    bp, "/saves", query="chalicelib.models.saves:SaveListQuery", response="chalicelib.models.saves:SlotList", tags=TAGS
)
def list_saves(call: Call) -> dict[str, Any]:
    """The caller's slots (without their data), in name order, paged."""
    from chalicelib.services import saves

    return saves.list_slots(
        player_id=call.player_id,
        config=composition.game_config().saves,
        repo=composition.saves_repo(),
        limit=call.query.limit,
        cursor=call.query.cursor,
    )


@route(bp, "/saves/{slot}", response="chalicelib.models.saves:SlotView", tags=TAGS, errors=(404,))
def get_save(call: Call, slot: str) -> SlotView:
    """One slot: inline `data`, or a presigned `download_url` for a save kept in S3."""
    from chalicelib.models.saves import SlotView
    from chalicelib.services import saves

    view = saves.get_slot(
        player_id=call.player_id, slot=slot, config=composition.game_config().saves, repo=composition.saves_repo()
    )
    return SlotView.model_validate(view)


@route(
    bp,
    "/saves/{slot}",
    methods=("PUT",),
    body="chalicelib.models.saves:SaveWrite",
    response="chalicelib.models.saves:SaveWritten",
    tags=TAGS,
    errors=(409,),
    idempotent=True,
)
def put_save(call: Call, slot: str) -> dict[str, Any]:
    """Write the slot if it is at `expected_version` (0 creates it); 409 with the current version if not."""
    from chalicelib.services import saves

    return saves.put_slot(
        player_id=call.player_id,
        slot=slot,
        data=call.body.data,
        expected_version=call.body.expected_version,
        config=composition.game_config().saves,
        repo=composition.saves_repo(),
    )


@route(
    bp,
    "/saves/{slot}",
    methods=("DELETE",),
    query="chalicelib.models.saves:SaveDeleteQuery",
    response="chalicelib.models.saves:SaveDeleted",
    tags=TAGS,
    errors=(404, 409),
)
def delete_save(call: Call, slot: str) -> dict[str, Any]:
    """Delete the slot (and its S3 object) if it is at `?expected_version=`."""
    from chalicelib.services import saves

    return saves.delete_slot(
        player_id=call.player_id, slot=slot, expected_version=call.query.expected_version, repo=composition.saves_repo()
    )


@route(
    bp,
    "/saves/{slot}/upload",
    methods=("POST",),
    body="chalicelib.models.saves:UploadRequest",
    response="chalicelib.models.saves:UploadTicket",
    status=201,
    tags=TAGS,
    errors=(409,),
)
def start_upload(call: Call, slot: str) -> dict[str, Any]:
    """A presigned PUT URL for a large save; send the object with the given headers, then commit."""
    from chalicelib.services import saves

    return saves.start_upload(
        player_id=call.player_id,
        slot=slot,
        expected_version=call.body.expected_version,
        size=call.body.size,
        sha256=call.body.sha256,
        config=composition.game_config().saves,
        repo=composition.saves_repo(),
    )


@route(
    bp,
    "/saves/{slot}/commit",
    methods=("POST",),
    body="chalicelib.models.saves:CommitRequest",
    response="chalicelib.models.saves:SaveWritten",
    tags=TAGS,
    errors=(404, 409),
    idempotent=True,
)
def commit_upload(call: Call, slot: str) -> dict[str, Any]:
    """Check the uploaded object's size and SHA-256 and make it the slot's next version."""
    from chalicelib.services import saves

    return saves.commit_upload(
        player_id=call.player_id,
        slot=slot,
        upload_id=call.body.upload_id,
        expected_version=call.body.expected_version,
        config=composition.game_config().saves,
        repo=composition.saves_repo(),
    )


# -- seed adapter -------------------------------------------------------------------------


@route(
    bp,
    "/user-progress",
    methods=("POST",),
    body="chalicelib.models.common:SeedEnvelope",
    response="chalicelib.models.seed:SeedProgressResponse",
    tags=("seed",),
    errors=(404, 409, 413),
    idempotent=True,
)
def seed_user_progress(call: Call) -> dict[str, Any]:
    """Seed adapter over the saves service: save, load, list or delete a slot."""
    from chalicelib.models.saves import (
        SeedProgressDelete,
        SeedProgressList,
        SeedProgressLoad,
        SeedProgressPayload,
        SeedProgressSave,
    )
    from chalicelib.services import saves

    envelope: SeedEnvelope = call.body
    fields = envelope.payload
    # The seed client may leave the action out: save when it sends data, load a slot it names.
    action = (
        envelope.action
        or fields.get("action")
        or ("save" if "data" in fields else "load" if "slot" in fields else "list")
    )
    request = action_as(SeedProgressPayload, {**fields, "action": action})
    config = composition.game_config().saves
    repo = composition.saves_repo()
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
