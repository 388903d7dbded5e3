"""The small interface other services call to tell a player something.

Services (matchmaking, leaderboards, achievements) call `send(...)`; the composition root
registers the sink (the notifications service, which stores it in the player's inbox) and
the pusher (the realtime service, which sends it to the player's open WebSocket
connections). Without a sink, notices are only logged. A failure to notify never fails the caller's
request: the notice is logged and dropped, the game state is already committed.

`signal(...)` pushes without storing anything (a ticket that timed out), and
`announce(...)` pushes a broadcast, already stored, to everyone connected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    # Pushed with the realtime message only, never stored in the inbox (e.g. a match's teams).
    push_data: dict[str, Any] = field(default_factory=dict)


# The sink stores a notice: the stored notification's id, or None when it was a repeat
# (its dedupe key was seen), which is then not pushed again.
Sink = Callable[[Notice], "str | None"]


class Pusher(Protocol):
    def notice(self, notice: Notice, notification_id: str | None) -> None: ...

    def signal(self, player_ids: list[str], kind: str, data: dict[str, Any]) -> None: ...

    def announce(self, notification: dict[str, Any]) -> None: ...


_sink: Sink | None = None
_pusher: Pusher | None = None


def _wired() -> None:
    from chalicelib.composition import wire

    wire()


def register_sink(sink: Sink) -> None:
    global _sink
    _wired()
    _sink = sink


def register_pusher(pusher: Pusher | None) -> None:
    global _pusher
    _wired()
    _pusher = pusher


def send(notice: Notice) -> None:
    _wired()
    stored: str | None = None
    if _sink is None:
        logger.info("notice (no inbox registered)", extra={"kind": notice.kind, "player_id": notice.player_id})
    else:
        try:
            stored = _sink(notice)
            if stored is None:
                return  # a repeat: stored and pushed the first time
        except Exception:  # noqa: BLE001 - a notice must never undo the caller's committed work
            logger.exception("notice not stored", extra={"kind": notice.kind, "player_id": notice.player_id})
    if _pusher is not None:
        try:
            _pusher.notice(notice, stored)
        except Exception:  # noqa: BLE001 - a push is best effort, the inbox has it
            logger.exception("notice not pushed", extra={"kind": notice.kind, "player_id": notice.player_id})


def signal(player_ids: list[str], kind: str, data: dict[str, Any]) -> None:
    """Push a message that is not kept in the inbox (best effort)."""
    _wired()
    if _pusher is None:
        return
    try:
        _pusher.signal(player_ids, kind, data)
    except Exception:  # noqa: BLE001 - a push is best effort
        logger.exception("signal not pushed", extra={"kind": kind})


def announce(notification: dict[str, Any]) -> None:
    """Push a stored broadcast to every open connection (best effort)."""
    _wired()
    if _pusher is None:
        return
    try:
        _pusher.announce(notification)
    except Exception:  # noqa: BLE001 - a push is best effort, every inbox shows the broadcast
        logger.exception("broadcast not pushed", extra={"notification_id": notification.get("id")})
