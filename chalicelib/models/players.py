"""Player profile and stats models."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field

from chalicelib.models.common import MAX_ABS_NUMBER, FiniteNumber, RequestModel, ResponseModel, StatName

DISPLAY_NAME_MIN = 3
DISPLAY_NAME_MAX = 24
# Letters, digits, '.', '-', '_' and inner spaces; surrounding whitespace is trimmed and
# runs of spaces collapse to one. The same rule is the documented pattern.
DISPLAY_NAME_PATTERN = r"^\s*[\w.\-][\w .\-]*[\w.\-]\s*$"
_SPACES = re.compile(r" {2,}")


def _display_name(value: str) -> str:
    value = _SPACES.sub(" ", unicodedata.normalize("NFC", value).strip())
    if not DISPLAY_NAME_MIN <= len(value) <= DISPLAY_NAME_MAX:
        raise ValueError(f"must be {DISPLAY_NAME_MIN} to {DISPLAY_NAME_MAX} characters after trimming")
    return value


DisplayName = Annotated[
    str,
    Field(min_length=DISPLAY_NAME_MIN, max_length=DISPLAY_NAME_MAX, pattern=DISPLAY_NAME_PATTERN),
    AfterValidator(_display_name),
]


class PlayerPublic(ResponseModel):
    player_id: str
    display_name: str
    created_at: str
    last_seen_at: str | None = None
    is_guest: bool = True
    email: str | None = None


class PlayerPatch(RequestModel):
    display_name: DisplayName


def _document_stats(schema: dict[str, Any], writer: str) -> None:
    """Document exactly the stats the game declares, with each one's accepted range."""
    from chalicelib.game_config import get_game_config

    properties: dict[str, Any] = {}
    for name, stat in get_game_config().stats.items():
        if writer == "client" and stat.writer != "client":
            continue
        if stat.aggregation == "sum":
            cap = stat.max_delta if stat.max_delta is not None else MAX_ABS_NUMBER
            low, high = -cap, cap
        else:
            low = stat.min if stat.min is not None else -MAX_ABS_NUMBER
            high = stat.max if stat.max is not None else MAX_ABS_NUMBER
        kind = "integer" if stat.type == "int" else "number"
        properties[name] = {
            "type": kind,
            "minimum": low,
            "maximum": high,
            "description": f"{stat.aggregation} ({stat.type})",
        }
    updates = schema["properties"]["updates"]
    updates.pop("additionalProperties", None)
    updates.pop("propertyNames", None)
    updates.update({"properties": properties, "additionalProperties": False})


class StatsUpdate(RequestModel):
    """Client stat updates: only declared, client-writable stats."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _document_stats(schema, "client"))

    updates: dict[StatName, FiniteNumber] = Field(min_length=1, max_length=50)


class ServerStatsUpdate(RequestModel):
    """A game server's stat updates: any declared stat, server-only ones included."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _document_stats(schema, "server"))

    updates: dict[StatName, FiniteNumber] = Field(min_length=1, max_length=50)


class StatsView(ResponseModel):
    player_id: str
    stats: dict[str, float | int]
    updated_at: str | None = None


class DeletedView(ResponseModel):
    player_id: str
    deleted: bool = True
    erased: dict[str, int] = Field(default_factory=dict)


REASON_MAX = 500


def _reason(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in value):
        raise ValueError("must be printable text (no control or format characters)")
    return value


class BanRequest(RequestModel):
    """Why the account is banned or unbanned (kept with the status)."""

    reason: Annotated[str, Field(min_length=1, max_length=REASON_MAX), AfterValidator(_reason)]


class AccountStatusView(ResponseModel):
    player_id: str
    status: str = Field(description="`active`, `banned` or `deleted`")
    reason: str | None = None
    changed_at: str | None = None
    changed_by: str | None = Field(default=None, description="The admin's player id")
