"""Token verification: only a well-signed, current token of our pool and client passes."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from chalicelib.errors import Unauthorized
from chalicelib.services.tokens import JwksCache, TokenVerifier

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
CLIENT = "client-123"
KEY = RSAKey.generate_key(2048, private=True, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, private=True, parameters={"kid": "k1"})
NOW = 1_800_000_000.0


def jwks() -> dict[str, Any]:
    public = KEY.as_dict(private=False)
    return {"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "sub": "player-1",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "exp": NOW + 3600,
        "iat": NOW - 10,
        "cognito:username": "guest-1",
        "cognito:groups": ["admins"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: RSAKey = KEY, header: dict[str, Any] | None = None) -> str:
    return jwt.encode(header or {"alg": "RS256", "kid": "k1"}, payload, key)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def verifier() -> TokenVerifier:
    fetches: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        fetches.append(url)
        return jwks()

    v = TokenVerifier(issuer=ISSUER, client_id=CLIENT, jwks=JwksCache(url="jwks", fetch=fetch), clock=lambda: NOW)
    v.fetches = fetches  # type: ignore[attr-defined]
    return v


def test_valid_id_token_gives_claims(verifier: TokenVerifier) -> None:
    result = verifier.verify(sign(claims()))
    assert result.sub == "player-1"
    assert result.username == "guest-1"
    assert result.in_group("admins")


def test_valid_access_token_checks_client_id(verifier: TokenVerifier) -> None:
    token = sign(claims(token_use="access", aud=None, client_id=CLIENT, username="guest-1"))
    assert verifier.verify(token).token_use == "access"
    bad = sign(claims(token_use="access", aud=None, client_id="other"))
    with pytest.raises(Unauthorized):
        verifier.verify(bad)


def test_keys_are_fetched_once_and_cached(verifier: TokenVerifier) -> None:
    for _ in range(5):
        verifier.verify(sign(claims()))
    assert verifier.fetches == ["jwks"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b.c",
        "....",
        b64({"alg": "none"}) + "." + b64(claims()) + ".",
        b64({"alg": "none", "kid": "k1"}) + "." + b64(claims()) + ".AAAA",
        b64({"alg": "HS256", "kid": "k1"}) + "." + b64(claims()) + ".AAAA",
    ],
    ids=["empty", "garbage", "dots", "empty-parts", "alg-none", "alg-none-sig", "hs256"],
)
def test_malformed_or_unsigned_tokens_are_refused(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_token_signed_by_another_key_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthorized, match="signature"):
        verifier.verify(sign(claims(), key=OTHER_KEY))


def test_tampered_payload_is_refused(verifier: TokenVerifier) -> None:
    header, _, signature = sign(claims()).split(".")
    forged = f"{header}.{b64(claims(sub='someone-else'))}.{signature}"
    with pytest.raises(Unauthorized, match="signature"):
        verifier.verify(forged)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": NOW - 3600}, "expired"),
        ({"exp": None}, "expired"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/other"}, "issuer"),
        ({"aud": "other-client"}, "client"),
        ({"token_use": "refresh"}, "kind"),
        ({"sub": ""}, "subject"),
        ({"iat": NOW + 3600}, "future"),
    ],
)
def test_bad_claims_are_refused(verifier: TokenVerifier, overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(Unauthorized, match=reason):
        verifier.verify(sign(claims(**overrides)))


def test_unknown_kid_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthorized, match="unknown key"):
        verifier.verify(sign(claims(), header={"alg": "RS256", "kid": "nope"}))


def test_real_clock_default_is_used() -> None:
    v = TokenVerifier(issuer=ISSUER, client_id=CLIENT, jwks=JwksCache(url="x", fetch=lambda _: jwks()))
    token = sign(claims(exp=time.time() + 60, iat=time.time()))
    assert v.verify(token).sub == "player-1"
