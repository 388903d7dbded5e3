"""The seed client's routes' own payloads and answers (the envelope is in models.common)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from chalicelib.models.common import SeedEnvelope
from chalicelib.models.saves import SlotMeta


class SeedStatsEnvelope(SeedEnvelope):
    action: Literal["update", "increment", "get"] | None = None


class SeedStatsResponse(BaseModel):
    message: str | None = None
    player_id: str
    stats: dict[str, float | int]
    updated_stats: dict[str, float | int] | None = None


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
