"""Hooks between services: stat changes feed leaderboards and achievements.

The composition root (chalicelib/composition.py) registers who listens; nothing registers
itself at import. The stats service calls every listener after a successful update.
Listeners must be idempotent: a client retry can deliver the same new value twice.

A service whose data must move exactly with a stat (a board fed by a sum stat) is a *stat
feed* instead: its idempotent writes run before the stat is written, and its
non-idempotent ones are operations committed in the stat update's own transaction.

Every function here first makes sure the composition root has wired this process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.observability import logger


@dataclass(frozen=True)
class StatChange:
    player_id: str
    # Stat values after the update, for the stats this request touched.
    changed: dict[str, float]
    # Every stat of the player after the update (the whole stats item).
    stats: dict[str, float]
    # The deltas applied to sum stats.
    deltas: dict[str, float] = field(default_factory=dict)
    at: float = 0.0
    # False when `stats` was read after the write and another write may have landed in
    # between: then `changed` minus `deltas` is not the value before this update.
    exact: bool = True


def _wired() -> None:
    from chalicelib.composition import wire

    wire()


StatListener = Callable[[StatChange], Any]
_stat_listeners: list[tuple[str, StatListener]] = []


def on_stat_change(name: str) -> Callable[[StatListener], StatListener]:
    """Register a listener under a name (re-registering a name replaces it)."""

    def register(listener: StatListener) -> StatListener:
        _wired()
        _stat_listeners[:] = [(n, fn) for n, fn in _stat_listeners if n != name]
        _stat_listeners.append((name, listener))
        return listener

    return register


def stat_changed(change: StatChange) -> dict[str, Any]:
    """Call every listener; what each returned, by name (e.g. the achievements unlocked)."""
    _wired()
    results: dict[str, Any] = {}
    for name, listener in list(_stat_listeners):
        logger.debug("stat hook", extra={"listener": name})
        results[name] = listener(change)
    return results


@dataclass(frozen=True)
class StatWritePlan:
    """A validated stat update, before anything is written."""

    player_id: str
    # The values sent for max, min and latest stats.
    values: dict[str, float]
    # The changes sent for sum stats.
    deltas: dict[str, float]
    at: float
    writer: str = "client"


@dataclass(frozen=True)
class StatFeed:
    # Idempotent writes (e.g. a best-score board): done first, so a failure leaves the
    # request safe to retry.
    before: Callable[[StatWritePlan], None]
    # Transaction operations committed together with the stat update (e.g. a sum board):
    # built again on every attempt of the transaction.
    ops: Callable[[StatWritePlan], list[dict[str, Any]]]


_stat_feeds: dict[str, StatFeed] = {}


def register_stat_feed(name: str, feed: StatFeed) -> StatFeed:
    _wired()
    _stat_feeds[name] = feed
    return feed


def stat_feeds() -> list[StatFeed]:
    _wired()
    return [_stat_feeds[name] for name in sorted(_stat_feeds)]


PlayerListener = Callable[[str], None]
_player_listeners: dict[str, PlayerListener] = {}


def on_player_created(name: str) -> Callable[[PlayerListener], PlayerListener]:
    """Register `fn(player_id)`, called once when a player's profile is first created."""

    def register(listener: PlayerListener) -> PlayerListener:
        _wired()
        _player_listeners[name] = listener
        return listener

    return register


def player_created(player_id: str) -> None:
    # The profile is committed: a failing listener is logged, never fails the sign-up.
    _wired()
    for name, listener in list(_player_listeners.items()):
        try:
            listener(player_id)
        except Exception:  # noqa: BLE001
            logger.exception("player-created hook failed", extra={"listener": name, "player_id": player_id})
