"""The small interface other services call to tell a player something.

Services (matchmaking, leaderboards, achievements) call `send(...)`; the notifications
service registers the sink that stores it in the player's inbox. Until one is
registered, notices are only logged. A failure to notify never fails the caller's
request: the notice is logged and dropped, the game state is already committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.observability import logger


@dataclass(frozen=True)
class Notice:
    player_id: str
    kind: str  # e.g. "achievement_unlocked", "match_found", "leaderboard_period_ended"
    title: str
    body: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # A stable id makes a retried send a no-op (e.g. f"match:{match_id}").
    dedupe_key: str | None = None


Sink = Callable[[Notice], None]
_sink: Sink | None = None


def register_sink(sink: Sink) -> None:
    global _sink
    _sink = sink


def send(notice: Notice) -> None:
    if _sink is None:
        logger.info("notice (no inbox registered)", extra={"kind": notice.kind, "player_id": notice.player_id})
        return
    try:
        _sink(notice)
    except Exception:  # noqa: BLE001 - a notice must never undo the caller's committed work
        logger.exception("notice not stored", extra={"kind": notice.kind, "player_id": notice.player_id})
