"""The seed client's routes' own payloads and answers (the envelope is in models.common)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, Strict

from chalicelib.models.common import RequestModel, SeedEnvelope
from chalicelib.models.saves import SlotMeta, SlotName, Version


class SeedStatsEnvelope(SeedEnvelope):
    action: Literal["update", "increment", "get"] | None = None


class SeedStatsResponse(BaseModel):
    message: str | None = None
    player_id: str
    stats: dict[str, float | int]
    updated_stats: dict[str, float | int] | None = None


class SeedProgressPayload(RequestModel):
    """`/user-progress` payload: `action` save | load | list | delete (default: save when
    `data` is given, load when `slot` is, list otherwise); slot defaults to `default`."""

    action: Literal["save", "load", "list", "delete"] | None = None
    slot: SlotName = "default"
    data: Any = None
    expected_version: Version | None = None
    playerId: str | None = Field(default=None, max_length=256)
    timestamp: Annotated[float, Strict()] | None = None


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
