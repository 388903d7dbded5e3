"""The admin audit log: every admin write recorded (who, what, when, target, reason), read-only."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import unquote

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import Invalid
from chalicelib.observability import logger
from chalicelib.storage.audit import AuditRepository, month_of, previous_month

MAX_REASON = 500
MAX_DETAILS = 2000
MONTHS_BACK = 24  # a page walks back at most this many months
REASON_HEADER = "x-audit-reason"
_SK = re.compile(r"^[0-9T:.Z-]{24}#[0-9a-f]{8}$")
_MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}$")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def target_of(params: dict[str, str], body: dict[str, Any]) -> str:
    """Whom a write is about: a player when it names one, else a broadcast or the resource."""
    if params.get("player_id"):
        return params["player_id"]
    if isinstance(body.get("player_id"), str):
        return str(body["player_id"])
    if body.get("broadcast") is True:
        return "broadcast"
    return next(iter(params.values()), "")


def entry_for(
    *,
    actor: str,
    actor_id: str,
    action: str,
    method: str,
    path: str,
    params: dict[str, str],
    body: dict[str, Any],
    header_reason: str | None,
    status: int,
) -> dict[str, Any]:
    """The audit entry of one admin write (pure: what `record` stores)."""
    if header_reason:
        header_reason = unquote(header_reason)  # the header carries UTF-8, percent-encoded
    reason = body.get("reason") if isinstance(body.get("reason"), str) else header_reason
    details = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return {
        "actor": actor,
        "actor_id": actor_id,
        "action": action,
        "method": method,
        "path": path,
        "params": dict(params),
        "target": target_of(params, body),
        "reason": _clip(reason.strip(), MAX_REASON) if reason and reason.strip() else None,
        "details": _clip(details, MAX_DETAILS),
        "status": status,
    }


def record(*, entry: dict[str, Any], repo: AuditRepository, clock: Clock = system_clock) -> dict[str, Any] | None:
    """Store an entry. The write it describes is done already: a store failure is logged with
    the whole entry (so the logs keep it) and never turns the admin's success into an error."""
    try:
        return repo.append(entry, clock())
    except Exception:  # noqa: BLE001 - see above
        logger.exception("audit entry not stored", extra={"audit": entry})
        return None


def encode_cursor(month: str, before: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"m": month, "b": before}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    bad = Invalid("cursor: not a cursor from this API", field="cursor", code="invalid_cursor")
    if len(cursor) > 200 or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or set(data) != {"m", "b"}:
        raise bad
    month, before = data["m"], data["b"]
    if not isinstance(month, str) or not isinstance(before, str) or not _MONTH.match(month) or not _SK.match(before):
        raise bad
    return month, before


def list_entries(
    *, target: str | None, cursor: str | None, limit: int, repo: AuditRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    """Entries newest first (all, or about one target), a page at a time."""
    before: str | None = None
    month = month_of(iso(clock()))
    if cursor:
        month, before = decode_cursor(cursor)
    if target:
        entries = repo.target_page(target, before, limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        last = entries[-1] if entries else None
        return {
            "entries": entries,
            "next_cursor": encode_cursor(month, _sk_of(last)) if more and last else None,
        }
    entries = []
    for _ in range(MONTHS_BACK):
        page = repo.month_page(month, before, limit - len(entries) + 1)
        entries.extend(page)
        if len(entries) > limit:
            entries = entries[:limit]
            return {"entries": entries, "next_cursor": encode_cursor(month_of(entries[-1]["at"]), _sk_of(entries[-1]))}
        month, before = previous_month(month), None
    return {"entries": entries, "next_cursor": None}


def _sk_of(entry: dict[str, Any]) -> str:
    return str(entry["id"]).split("|", 1)[1]
