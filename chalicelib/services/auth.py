"""Auth: guest accounts, sign-in, refresh, and the upgrade of a guest to an email account."""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import asdict
from typing import Any

from chalicelib.clock import Clock, system_clock
from chalicelib.errors import ConditionFailed, Conflict, Forbidden, RateLimited
from chalicelib.services import account_status
from chalicelib.services.players import ensure_profile, touch
from chalicelib.storage.accounts import AccountsGateway
from chalicelib.storage.players import PlayersRepository

GUEST_PREFIX = "guest-"


def new_guest_password() -> str:
    """32 random characters holding every class a Cognito password policy may ask for."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(28))
    return (
        core
        + secrets.choice(string.ascii_uppercase)
        + secrets.choice(string.ascii_lowercase)
        + secrets.choice(string.digits)
        + "!"
    )


def check_guest_rate(
    *, source: str, repo: PlayersRepository, limit: int, window_seconds: int, clock: Clock = system_clock
) -> None:
    """A fixed window per source address, counted in DynamoDB so every container agrees."""
    now = int(clock())
    window_start = now - now % window_seconds
    if not repo.take_rate_token(f"guest#{source}", window_start, limit, window_start + 2 * window_seconds):
        raise RateLimited(
            f"at most {limit} guest accounts per {window_seconds} s from one address",
            retry_after=max(1, window_start + window_seconds - now),
        )


def create_guest(
    *,
    source: str,
    display_name: str | None,
    repo: PlayersRepository,
    accounts: AccountsGateway,
    limit: int,
    window_seconds: int,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    check_guest_rate(source=source, repo=repo, limit=limit, window_seconds=window_seconds, clock=clock)
    username = GUEST_PREFIX + uuid.uuid4().hex
    password = new_guest_password()
    player_id = accounts.create_user(username, password)
    ensure_profile(
        player_id=player_id, username=username, repo=repo, is_guest=True, display_name=display_name, clock=clock
    )
    tokens = accounts.password_auth(username, password)
    return {**asdict(tokens), "username": username, "password": password}


def login(
    *, username: str, password: str, repo: PlayersRepository, accounts: AccountsGateway, clock: Clock = system_clock
) -> dict[str, Any]:
    if "@" in username:
        username = repo.username_for_email(username.strip().lower()) or username
    tokens = accounts.password_auth(username, password)
    account_status.check_active(player_id=tokens.player_id, repo=repo)
    ensure_profile(
        player_id=tokens.player_id,
        username=tokens.username or username,
        repo=repo,
        is_guest=username.startswith(GUEST_PREFIX),
        clock=clock,
    )
    touch(player_id=tokens.player_id, repo=repo, clock=clock)
    return asdict(tokens)


def refresh(*, refresh_token: str, repo: PlayersRepository, accounts: AccountsGateway) -> dict[str, Any]:
    """New tokens, refused (403 `account_banned`, 401 `account_deleted`) for an inactive account."""
    tokens = accounts.refresh(refresh_token)
    account_status.check_active(player_id=tokens.player_id, repo=repo)
    return asdict(tokens)


def upgrade(
    *,
    player_id: str,
    username: str,
    email: str,
    password: str,
    repo: PlayersRepository,
    accounts: AccountsGateway,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Give a guest an email and password; the `sub`, and so all data, stay the same."""
    profile = ensure_profile(
        player_id=player_id, username=username, repo=repo, is_guest=username.startswith(GUEST_PREFIX), clock=clock
    )
    if not profile.is_guest:
        raise Forbidden("only a guest account can be upgraded", code="not_a_guest")
    email = email.strip().lower()
    try:
        repo.claim_email(email, player_id, username)
    except ConditionFailed:
        raise Conflict("that email belongs to another account", code="email_taken") from None
    accounts.set_email_and_password(username, email, password)
    repo.update_profile(player_id, is_guest=False, email=email)
    return asdict(accounts.password_auth(username, password))
