"""Page cursors: opaque to clients, bound to the listing (and the player) they were issued for.

A cursor carries the position where the next page starts and a digest of that position
together with its scope: the listing, its parameters, and whose data it lists. A cursor
from another listing or another player, or one whose position was altered, fails the
digest and is a 400 naming `cursor`. The digest is a check, not a secret: the position is
also validated by the listing that uses it (its storage knows what a position looks like),
so a forged one can only point somewhere the caller could page to anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.errors import Invalid

MAX_LENGTH = 512
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def _canonical(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _digest(scope: Mapping[str, Any], position: Mapping[str, Any]) -> str:
    raw = hashlib.sha256(_canonical({"scope": dict(scope), "position": dict(position)})).digest()[:16]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid() -> Invalid:
    return Invalid("cursor: not a cursor from this listing", field="cursor", code="invalid_cursor")


def encode(scope: Mapping[str, Any], position: Mapping[str, Any]) -> str:
    """The cursor for `position` in the listing described by `scope` (JSON values only)."""
    body = {"p": dict(position), "s": _digest(scope, position)}
    return base64.urlsafe_b64encode(_canonical(body)).decode().rstrip("=")


def decode(
    cursor: str, scope: Mapping[str, Any], *, valid: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """The position in a cursor issued by `encode` for the same scope; Invalid (400, field
    `cursor`) for anything else, or when `valid` refuses the position."""
    if not cursor or len(cursor) > MAX_LENGTH or not _ALPHABET.fullmatch(cursor.rstrip("=")):
        raise invalid()
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor.rstrip("=") + "=" * (-len(cursor.rstrip("=")) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid() from None
    if not isinstance(body, dict) or set(body) != {"p", "s"}:
        raise invalid()
    position, digest = body["p"], body["s"]
    if not isinstance(position, dict) or not isinstance(digest, str):
        raise invalid()
    if not hmac.compare_digest(digest, _digest(scope, position)):
        raise invalid()
    if valid is not None and not valid(position):
        raise invalid()
    return position
