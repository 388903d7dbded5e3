"""Cloud-save models: slot names, writes, uploads, commits and views."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, Strict, StringConstraints

from chalicelib.models.common import RequestModel, ResponseModel

SLOT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
SlotName = Annotated[str, StringConstraints(pattern=SLOT_PATTERN)]
# Versions count writes; 0 means "no slot" (expected_version 0 creates one). JSON bodies
# carry a number (not "1", not true); query strings carry text, converted.
Version = Annotated[int, Strict(), Field(ge=0, le=2**53)]
QueryVersion = Annotated[int, Field(ge=0, le=2**53)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
UploadId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Storage = Literal["inline", "s3"]


class SaveWrite(RequestModel):
    """`PUT /saves/{slot}`: any JSON value, written if the slot is at `expected_version`."""

    data: Any = Field(description="The save: any JSON value, up to the inline cap once encoded")
    expected_version: Version = Field(description="The version the client last read; 0 to create the slot")


class SaveDeleteQuery(RequestModel):
    expected_version: QueryVersion = Field(description="The version the client last read")


class SaveListQuery(RequestModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: SlotName | None = Field(default=None, description="`next_cursor` of the previous page")


class UploadRequest(RequestModel):
    """`POST /saves/{slot}/upload`: announce a large save before sending it to S3."""

    expected_version: Version
    size: Annotated[int, Strict()] = Field(ge=1, le=2**53, description="Exact size of the object in bytes")
    sha256: Sha256Hex = Field(description="SHA-256 of the object's bytes, lowercase hex")


class CommitRequest(RequestModel):
    """`POST /saves/{slot}/commit`: make an uploaded object the slot's new version."""

    upload_id: UploadId
    expected_version: Version


class SlotMeta(ResponseModel):
    slot: str
    version: int
    size: int = Field(description="Bytes: the canonical JSON text (inline) or the object (s3)")
    checksum: str = Field(description="SHA-256 hex of those bytes")
    updated_at: str
    storage: Storage


class SlotView(SlotMeta):
    """A slot: inline `data`, or `download_url` for a save kept in S3."""

    data: Any = None
    download_url: str | None = None
    download_expires_at: str | None = None


class SlotList(ResponseModel):
    slots: list[SlotMeta]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for more; a page may be short (deleted slots are skipped)"
    )
    max_slots: int


class SaveWritten(ResponseModel):
    slot: str
    version: int
    size: int
    checksum: str
    updated_at: str
    storage: Storage


class UploadTicket(ResponseModel):
    """Where and how to PUT the object; then commit `upload_id`."""

    upload_id: str
    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str] = Field(description="Headers the PUT must carry (they are signed)")
    expires_at: str


class SaveDeleted(ResponseModel):
    slot: str
    deleted: bool = True
    version: int = Field(description="The slot's version after the deletion; creating it again needs 0")


class _SeedProgressFields(RequestModel):
    """What the seed's `/user-progress` payload may carry, whatever its action."""

    slot: SlotName = "default"
    expected_version: Version | None = None
    data: Any = None
    playerId: str | None = Field(default=None, max_length=256)
    timestamp: Annotated[float, Strict()] | None = None


class SeedProgressList(_SeedProgressFields):
    action: Literal["list"]


class SeedProgressLoad(_SeedProgressFields):
    action: Literal["load"]


class SeedProgressSave(_SeedProgressFields):
    action: Literal["save"]
    expected_version: Version = Field(description="The version last read; 0 to create the slot")
    data: Any = Field(description="The save: any JSON value")


class SeedProgressDelete(_SeedProgressFields):
    action: Literal["delete"]
    expected_version: Version = Field(description="The version last read")


SeedProgressPayload = Annotated[
    SeedProgressList | SeedProgressLoad | SeedProgressSave | SeedProgressDelete,
    Field(discriminator="action"),
]
