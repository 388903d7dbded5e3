"""Who is calling: the verified token's claims, never a body, query or path field."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice import CognitoUserPoolAuthorizer

from chalicelib.config import get_settings
from chalicelib.errors import Throttled, Unauthorized
from chalicelib.services.tokens import Claims, JwksCache, TokenVerifier


@lru_cache(maxsize=1)
def gateway_authorizer() -> CognitoUserPoolAuthorizer | None:
    """API Gateway's Cognito authorizer when deployed; none for `chalice local`.

    `chalice local` only base64-decodes a Cognito token (and fails on garbage), so in the
    local stage routes carry no gateway authorizer and the app's own check is the gate.
    The app verifies the token in every stage.
    """
    settings = get_settings()
    if settings.auth_mode != "cognito":
        return None
    arn = settings.user_pool_arn or (
        f"arn:aws:cognito-idp:{settings.region}:000000000000:userpool/{settings.region}_unprovisioned"
    )
    return CognitoUserPoolAuthorizer("players", provider_arns=[arn])


@lru_cache(maxsize=1)
def token_verifier() -> TokenVerifier:
    settings = get_settings()
    return TokenVerifier(
        issuer=settings.issuer,
        client_id=settings.user_pool_client_id,
        jwks=JwksCache(url=settings.jwks_url),
    )


def bearer_token(headers: Any) -> str:
    """The token of an `Authorization` header, with or without the `Bearer ` prefix."""
    value = (headers.get("authorization") or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def authenticate(headers: Any) -> Claims:
    token = bearer_token(headers)
    if not token:
        raise Unauthorized("an Authorization token is required", code="missing_token")
    settings = get_settings()
    if not settings.user_pool_id or not settings.user_pool_client_id:
        raise Unauthorized("sign-in is not configured on this server", code="auth_not_configured")
    try:
        return token_verifier().verify(token)
    except Unauthorized:
        raise
    except Exception as exc:  # the pool's keys could not be fetched
        raise Throttled("identity keys are unavailable, retry shortly") from exc


def reset_identity() -> None:
    gateway_authorizer.cache_clear()
    token_verifier.cache_clear()
