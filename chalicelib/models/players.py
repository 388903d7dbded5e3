"""Player profile and stats models."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

from chalicelib.models.common import FiniteNumber, RequestModel, ResponseModel, StatName

DISPLAY_NAME_MIN = 3
DISPLAY_NAME_MAX = 24
_NAME_CHARS = re.compile(r"^[\w .\-]+$")


def _display_name(value: str) -> str:
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if not DISPLAY_NAME_MIN <= len(value) <= DISPLAY_NAME_MAX:
        raise ValueError(f"must be {DISPLAY_NAME_MIN} to {DISPLAY_NAME_MAX} characters after trimming")
    if not _NAME_CHARS.match(value):
        raise ValueError("may hold letters, digits, spaces, '.', '-' and '_' only")
    return value


DisplayName = Annotated[str, Field(max_length=64), AfterValidator(_display_name)]


class PlayerPublic(ResponseModel):
    player_id: str
    display_name: str
    created_at: str
    last_seen_at: str | None = None
    is_guest: bool = True
    email: str | None = None


class PlayerPatch(RequestModel):
    display_name: DisplayName


class StatsUpdate(RequestModel):
    updates: dict[StatName, FiniteNumber] = Field(min_length=1, max_length=50)


class StatsView(ResponseModel):
    player_id: str
    stats: dict[str, float | int]
    updated_at: str | None = None


class DeletedView(ResponseModel):
    player_id: str
    deleted: bool = True
    erased: dict[str, int] = Field(default_factory=dict)
