"""Helpers to take tokens apart and forge bad ones, for identity tests."""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def resign(token: str, **changes: Any) -> str:
    """The same claims with changes, signed by a fresh key that is not the pool's."""
    key = RSAKey.generate_key(2048, private=True)
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, {**claims_of(token), **changes}, key)


def bad_tokens(valid: str) -> dict[str, str]:
    """Tokens that must all be refused with 401, made from a valid one."""
    claims = claims_of(valid)
    header, _, signature = valid.split(".")
    return {
        "garbage": "not-a-token",
        "alg_none": b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims) + ".",
        "other_key": resign(valid),
        "expired": resign(valid, exp=1),
        "wrong_issuer": resign(valid, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
        "wrong_client": resign(valid, aud="another-client"),
        "wrong_token_use": resign(valid, token_use="refresh"),
        "tampered_sub": f"{header}.{b64({**claims, 'sub': 'someone'})}.{signature}",
    }
