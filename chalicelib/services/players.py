"""Players: profiles, display names and account deletion."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.display_names import shown_display_name
from chalicelib.errors import ConditionFailed, NotFound
from chalicelib.services import account_status, erasure, hooks
from chalicelib.storage.players import BANNED, DELETED, AccountStatus, PlayersRepository, Profile

if TYPE_CHECKING:
    from chalicelib.game_config.declarations import GameConfig
    from chalicelib.storage.accounts import AccountsGateway


def default_display_name(player_id: str) -> str:
    return f"Player-{player_id.replace('-', '')[:6]}"


def shown_names(names: dict[str, str]) -> dict[str, str]:
    """Display names as shown on boards: a stored name that breaks the rule shows the default."""
    return {pid: shown_display_name(name, default_display_name(pid)) for pid, name in names.items()}


def profile_view(profile: Profile) -> dict[str, Any]:
    return {
        "player_id": profile.player_id,
        "display_name": shown_display_name(profile.display_name, default_display_name(profile.player_id)),
        "created_at": profile.created_at,
        "last_seen_at": profile.last_seen_at,
        "is_guest": profile.is_guest,
        "email": profile.email,
    }


def ensure_profile(
    *,
    player_id: str,
    username: str,
    repo: PlayersRepository,
    is_guest: bool,
    display_name: str | None = None,
    clock: Clock = system_clock,
) -> Profile:
    """The player's profile, created on first sight (idempotent)."""
    now = iso(clock())
    profile = Profile(
        player_id=player_id,
        username=username,
        display_name=display_name or default_display_name(player_id),
        created_at=now,
        last_seen_at=now,
        is_guest=is_guest,
    )
    if repo.create_profile(profile):
        hooks.player_created(player_id)
        return profile
    existing = repo.get_profile(player_id)
    return existing or profile


def get_profile(
    *, player_id: str, username: str, repo: PlayersRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    item = repo.get_profile(player_id)
    if item is None:
        # A user made outside the app (e.g. the local admin): profile on first sight.
        item = ensure_profile(player_id=player_id, username=username, repo=repo, is_guest=False, clock=clock)
    return profile_view(item)


def rename(
    *, player_id: str, username: str, display_name: str, repo: PlayersRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    get_profile(player_id=player_id, username=username, repo=repo, clock=clock)
    try:
        item = repo.update_profile(player_id, display_name=display_name)
    except ConditionFailed:
        raise NotFound("no such player") from None
    return profile_view(item)


def touch(*, player_id: str, repo: PlayersRepository, clock: Clock = system_clock) -> None:
    try:
        repo.update_profile(player_id, last_seen_at=iso(clock()))
    except ConditionFailed:
        pass


# The longest an API request can still write after its account check passed: the
# function's timeout (15 s) with botocore's retries inside it, rounded up generously.
REQUEST_BOUND_SECONDS = 120


def erase_again_delay(config: GameConfig) -> int:
    """When the second erasure of a deleted account runs: after every request that passed
    its account check before the deletion has ended, and after every save upload URL
    issued before it has expired (an upload lands in S3 without a request of ours)."""
    return REQUEST_BOUND_SECONDS + config.saves.upload_url_seconds


def delete_account(
    *, player_id: str, username: str, config: GameConfig, repo: PlayersRepository, accounts: AccountsGateway
) -> dict[str, Any]:
    """Mark the account deleted, erase every item it owns in every service, then the Cognito user.

    The mark comes first and is final: from then on every request with the account's
    tokens is refused and no profile can be created for it. A retried deletion (by the
    same token) finishes the erasure; each step is idempotent.
    """
    profile = repo.get_profile(player_id)
    username = (profile.username if profile else "") or username
    account_status.mark_deleted(
        player_id=player_id, repo=repo, username=username, erase_again_in=erase_again_delay(config)
    )
    if profile is not None and profile.email:  # before the profile is erased, so a retry still knows it
        repo.release_email(profile.email)
    erased = erasure.erase_everything(player_id)
    accounts.delete_user(username)
    return {"player_id": player_id, "deleted": True, "erased": erased}


def remove_entries_again_at(now: float) -> float:
    """When a ban's second removal of leaderboard entries runs: after every score request
    that passed its account check before the ban has ended."""
    return now + REQUEST_BOUND_SECONDS


def erase_again_job(
    *,
    repo: PlayersRepository,
    remove_entries: Callable[[str], int],
    clock: Clock = system_clock,
    batch: int = 25,
) -> list[str]:
    """The second pass over deleted and banned accounts, once due (scheduled).

    The account check runs when a request starts, so a request that passed it just
    before the deletion or the ban can still write after the first erasure (a stat, a
    score, a save upload). Once every such request has ended: a deleted account is erased
    again, leaving nothing behind; an account still banned loses the leaderboard entries
    such a request wrote (`remove_entries`); one unbanned meanwhile keeps what it has.
    Idempotent: an interrupted run leaves the queue entry, and the next run does it again.
    """
    done: list[str] = []
    while True:
        due = repo.erasures_due(iso(clock()), batch)
        for queue_key, player_id in due:
            status = repo.get_account_status(player_id)
            if status is not None and status.status == DELETED:
                erasure.erase_everything(player_id)
            elif status is not None and status.status == BANNED:
                remove_entries(player_id)
            repo.erase_again_done(queue_key)
            done.append(player_id)
        if len(due) < batch:
            return done


def finish_deletion(*, player_id: str, status: AccountStatus, accounts: AccountsGateway) -> dict[str, Any]:
    """A retried deletion whose profile is already erased: erase what is left and remove
    the sign-in account, named by the deletion mark."""
    erased = erasure.erase_everything(player_id)
    if status.username:
        accounts.delete_user(status.username)
    return {"player_id": player_id, "deleted": True, "erased": erased}
