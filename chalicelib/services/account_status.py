"""Account status: deleted and banned accounts are refused everywhere, nothing is written for them.

A status item exists only for accounts that were banned or deleted; checking an active
account is one consistent GetItem that finds nothing (1 read request, 0 items).
"""

from __future__ import annotations

from typing import Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import AccountBanned, AccountDeleted, Conflict, NotFound
from chalicelib.storage.players import ACTIVE, BANNED, DELETED, AccountDeletedMark, AccountStatus, PlayersRepository


def status_view(player_id: str, status: AccountStatus | None) -> dict[str, Any]:
    """An account's status as the admin routes answer it; no status is an active account."""
    status = status or AccountStatus(player_id=player_id)
    return {
        "player_id": player_id,
        "status": status.status,
        "reason": status.reason,
        "changed_at": status.changed_at,
        "changed_by": status.changed_by,
    }


def raise_for(status: str | None) -> None:
    """The refusal for a status: deleted -> 401 account_deleted, banned -> 403 account_banned."""
    if status == DELETED:
        raise AccountDeleted()
    if status == BANNED:
        raise AccountBanned()


def check_active(*, player_id: str, repo: PlayersRepository, allow_deleted: bool = False) -> str:
    """Refuse a deleted or banned account; returns the status (`active`, or `deleted` if allowed)."""
    current = repo.get_account_status(player_id)
    status = current.status if current else ACTIVE
    if status == DELETED and allow_deleted:
        return status
    raise_for(status)
    return status


def mark_deleted(
    *,
    player_id: str,
    repo: PlayersRepository,
    username: str = "",
    erase_again_in: float | None = None,
    clock: Clock = system_clock,
) -> None:
    now = clock()
    again = None if erase_again_in is None else iso(now + erase_again_in)
    repo.mark_deleted(player_id, iso(now), username, again)


def set_ban(
    *,
    player_id: str,
    banned: bool,
    reason: str,
    admin_id: str,
    repo: PlayersRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Ban or unban a player (idempotent); a deleted or unknown player cannot be either."""
    current = repo.get_account_status(player_id)
    if current is None and repo.get_profile(player_id) is None:
        raise NotFound("no such player", details={"field": "player_id"})
    try:
        changed = repo.set_ban(player_id, banned=banned, reason=reason, by=admin_id, at=iso(clock()))
    except AccountDeletedMark as refused:
        raise Conflict(
            "this account was deleted", code="account_deleted", details=status_view(player_id, refused.status)
        ) from None
    return status_view(player_id, changed)
