"""Verification of Cognito JWTs: RS256 against the pool's JWKS, claims checked.

The algorithm is fixed in code (RS256): the token's own `alg` header is compared to it,
never used to choose how to verify. The RSA PKCS#1 v1.5 check builds the expected
encoded message and compares it whole, so there is no padding parser to fool.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import Unauthorized

ALGORITHM = "RS256"
# DER prefix of the DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
CLOCK_SKEW_SECONDS = 60
JWKS_TTL_SECONDS = 3600
MAX_TOKEN_LENGTH = 8192


def _b64url_decode(segment: str) -> bytes:
    if not segment or any(c not in _B64URL_ALPHABET for c in segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64url_uint(segment: str) -> int:
    return int.from_bytes(_b64url_decode(segment), "big")


@dataclass(frozen=True)
class RsaPublicKey:
    n: int
    e: int

    @property
    def size_bytes(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def verify_pkcs1_sha256(self, message: bytes, signature: bytes) -> bool:
        k = self.size_bytes
        if len(signature) != k or k < 256:  # RSA keys under 2048 bits are refused
            return False
        s = int.from_bytes(signature, "big")
        if s >= self.n:
            return False
        em = pow(s, self.e, self.n).to_bytes(k, "big")
        t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
        return hmac.compare_digest(em, expected)


def parse_jwks(document: dict[str, Any]) -> dict[str, RsaPublicKey]:
    keys: dict[str, RsaPublicKey] = {}
    for jwk in document.get("keys", []):
        if jwk.get("kty") != "RSA" or jwk.get("alg", ALGORITHM) != ALGORITHM:
            continue
        if jwk.get("use", "sig") != "sig" or "kid" not in jwk:
            continue
        keys[str(jwk["kid"])] = RsaPublicKey(n=_b64url_uint(jwk["n"]), e=_b64url_uint(jwk["e"]))
    return keys


def fetch_jwks(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - fixed https/loopback URL from settings
        return json.loads(response.read().decode("utf-8"))  # type: ignore[no-any-return]


@dataclass
class JwksCache:
    """The pool's signing keys, fetched on first use and refreshed hourly or on an unknown kid."""

    url: str
    fetch: Callable[[str], dict[str, Any]] = fetch_jwks
    ttl_seconds: int = JWKS_TTL_SECONDS
    min_refetch_seconds: int = 30
    _keys: dict[str, RsaPublicKey] = field(default_factory=dict)
    _fetched_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, kid: str, now: float) -> RsaPublicKey | None:
        with self._lock:
            stale = now - self._fetched_at > self.ttl_seconds
            unknown = kid not in self._keys and now - self._fetched_at > self.min_refetch_seconds
            if stale or unknown:
                try:
                    self._keys = parse_jwks(self.fetch(self.url))
                    self._fetched_at = now
                except Exception:
                    if not self._keys:
                        raise
            return self._keys.get(kid)


@dataclass(frozen=True)
class Claims:
    """The verified identity of a caller."""

    sub: str
    username: str
    groups: tuple[str, ...]
    token_use: str
    raw: dict[str, Any]

    def in_group(self, group: str) -> bool:
        return group in self.groups


@dataclass
class TokenVerifier:
    issuer: str
    client_id: str
    jwks: JwksCache
    clock: Callable[[], float] = time.time
    accepted_uses: tuple[str, ...] = ("id", "access")

    def verify(self, token: str) -> Claims:
        """Return the claims of a valid token, or raise Unauthorized saying why."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("missing or oversized token", code="invalid_token")
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthorized("malformed token", code="invalid_token")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            payload = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized("malformed token", code="invalid_token") from None
        if not isinstance(header, dict) or not isinstance(payload, dict):
            raise Unauthorized("malformed token", code="invalid_token")
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("token algorithm not accepted", code="invalid_token")
        now = self.clock()
        key = self.jwks.key(str(header.get("kid", "")), now)
        if key is None:
            raise Unauthorized("token signed by an unknown key", code="invalid_token")
        signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        if not key.verify_pkcs1_sha256(signed, signature):
            raise Unauthorized("bad token signature", code="invalid_token")
        return self._check_claims(payload, now)

    def _check_claims(self, payload: dict[str, Any], now: float) -> Claims:
        exp = payload.get("exp")
        if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp + CLOCK_SKEW_SECONDS < now:
            raise Unauthorized("token expired", code="token_expired")
        iat = payload.get("iat")
        if isinstance(iat, (int, float)) and iat - CLOCK_SKEW_SECONDS > now:
            raise Unauthorized("token issued in the future", code="invalid_token")
        if payload.get("iss") != self.issuer:
            raise Unauthorized("token from another issuer", code="invalid_token")
        token_use = payload.get("token_use")
        if token_use not in self.accepted_uses:
            raise Unauthorized("token of the wrong kind", code="invalid_token")
        audience = payload.get("aud") if token_use == "id" else payload.get("client_id")
        if audience != self.client_id:
            raise Unauthorized("token for another client", code="invalid_token")
        sub = payload.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthorized("token without a subject", code="invalid_token")
        username = payload.get("cognito:username") or payload.get("username") or ""
        groups = payload.get("cognito:groups") or []
        if not isinstance(groups, list):
            groups = []
        return Claims(
            sub=sub,
            username=str(username),
            groups=tuple(str(g) for g in groups),
            token_use=str(token_use),
            raw=payload,
        )
