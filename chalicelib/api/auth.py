"""Auth routes: guest accounts, sign-in, refresh, upgrade."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.config import get_settings

bp = Blueprint(__name__)


@route(
    bp,
    "/auth/guest",
    methods=("POST",),
    auth="none",
    body="chalicelib.models.auth:GuestCreate",
    response="chalicelib.models.auth:TokensView",
    status=201,
    tags=("auth",),
    errors=(400, 429),
)
def create_guest(call: Call) -> dict[str, Any]:
    """Create a guest account; keep `username` and `password` on the device."""
    from chalicelib.services import auth

    settings = get_settings()
    return auth.create_guest(
        source=call.source_ip,
        display_name=call.body.display_name,
        repo=composition.players_repo(),
        accounts=composition.accounts(),
        limit=settings.guest_rate_limit,
        window_seconds=settings.guest_rate_window_seconds,
    )


@route(
    bp,
    "/auth/login",
    methods=("POST",),
    auth="none",
    body="chalicelib.models.auth:LoginRequest",
    response="chalicelib.models.auth:TokensView",
    tags=("auth",),
    errors=(400, 401, 403, 429),
)
def login(call: Call) -> dict[str, Any]:
    """Sign in with a username (or an upgraded account's email) and password; 403 `account_banned` when banned."""
    from chalicelib.services import auth

    return auth.login(
        username=call.body.identity,
        password=call.body.password,
        repo=composition.players_repo(),
        accounts=composition.accounts(),
    )


@route(
    bp,
    "/auth/refresh",
    methods=("POST",),
    auth="none",
    body="chalicelib.models.auth:RefreshRequest",
    response="chalicelib.models.auth:TokensView",
    tags=("auth",),
    errors=(400, 401, 403),
)
def refresh(call: Call) -> dict[str, Any]:
    """New ID and access tokens from a refresh token."""
    from chalicelib.services import auth

    return auth.refresh(
        refresh_token=call.body.refresh_token, repo=composition.players_repo(), accounts=composition.accounts()
    )


@route(
    bp,
    "/auth/upgrade",
    methods=("POST",),
    body="chalicelib.models.auth:UpgradeRequest",
    response="chalicelib.models.auth:TokensView",
    tags=("auth",),
    errors=(400, 401, 403, 409),
)
def upgrade(call: Call) -> dict[str, Any]:
    """Turn the calling guest into an email + password account; same player, same data."""
    from chalicelib.services import auth

    assert call.claims is not None
    return auth.upgrade(
        player_id=call.player_id,
        username=call.claims.username,
        email=call.body.email,
        password=call.body.password,
        repo=composition.players_repo(),
        accounts=composition.accounts(),
    )
