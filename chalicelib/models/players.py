"""Player profile and stats models."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StrictBool

from chalicelib.display_names import (
    DISPLAY_NAME_MAX,
    DISPLAY_NAME_MIN,
    DISPLAY_NAME_PATTERN,
    normalize_display_name,
)
from chalicelib.models.checks import STAT_UPDATES_MAX
from chalicelib.models.common import MAX_ABS_NUMBER, FiniteNumber, RequestModel, ResponseModel, StatName

DisplayName = Annotated[
    str,
    Field(min_length=DISPLAY_NAME_MIN, max_length=DISPLAY_NAME_MAX, pattern=DISPLAY_NAME_PATTERN),
    AfterValidator(normalize_display_name),
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
            low, high = (-cap if writer == "server" or stat.client_decrease else 0), cap
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

    updates: dict[StatName, FiniteNumber] = Field(min_length=1, max_length=STAT_UPDATES_MAX)


class ServerStatsUpdate(RequestModel):
    """A game server's stat updates: any declared stat, server-only ones included."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _document_stats(schema, "server"))

    updates: dict[StatName, FiniteNumber] = Field(min_length=1, max_length=STAT_UPDATES_MAX)


class StatsView(ResponseModel):
    player_id: str
    stats: dict[str, float | int]
    updated_at: str | None = None
    unlocked: list[str] = Field(
        default_factory=list, description="Achievements this update unlocked (their rewards are in `stats`)"
    )


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


class BanBody(BanRequest):
    """A ban: why, and whether the player's leaderboard entries go with it."""

    remove_leaderboard_entries: StrictBool = Field(
        default=True,
        description="Remove the player's entries from every board and period, archives included, ranks "
        "closing up behind them (a cheater's scores); false keeps them. Not restored by an unban",
    )


class AccountStatusView(ResponseModel):
    player_id: str
    status: str = Field(description="`active`, `banned` or `deleted`")
    reason: str | None = None
    changed_at: str | None = None
    changed_by: str | None = Field(default=None, description="The admin's player id")
    leaderboard_entries_removed: int | None = Field(
        default=None, description="On a ban: how many leaderboard entries it removed"
    )
