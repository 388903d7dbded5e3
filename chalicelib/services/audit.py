"""The admin audit log: every admin write recorded (who, what, when, target, reason), read-only."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any
from urllib.parse import unquote

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.observability import logger
from chalicelib.services import cursors
from chalicelib.storage.audit import AuditEntry, AuditRepository, StoredAuditEntry, month_of, previous_month

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
) -> AuditEntry:
    """The audit entry of one admin write (pure: what `record` stores)."""
    if header_reason:
        header_reason = unquote(header_reason)  # the header carries UTF-8, percent-encoded
    reason = body.get("reason") if isinstance(body.get("reason"), str) else header_reason
    details = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return AuditEntry(
        actor=actor,
        actor_id=actor_id,
        action=action,
        method=method,
        path=path,
        params=dict(params),
        target=target_of(params, body),
        reason=_clip(reason.strip(), MAX_REASON) if reason and reason.strip() else None,
        details=_clip(details, MAX_DETAILS),
        status=status,
    )


def entry_view(stored: StoredAuditEntry) -> dict[str, Any]:
    """An entry as the audit page answers it; an entry without a reason has no `reason` key."""
    entry = stored.entry
    view: dict[str, Any] = {
        "id": stored.id,
        "at": stored.at,
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "method": entry.method,
        "path": entry.path,
        "params": dict(entry.params),
        "target": entry.target,
    }
    if entry.reason is not None:
        view["reason"] = entry.reason
    view["details"] = entry.details
    view["status"] = entry.status
    return view


def record(*, entry: AuditEntry, repo: AuditRepository, clock: Clock = system_clock) -> StoredAuditEntry | None:
    """Store an entry. The write it describes is done already: a store failure is logged with
    the whole entry (so the logs keep it) and never turns the admin's success into an error."""
    try:
        return repo.append(entry, clock())
    except Exception:  # noqa: BLE001 - see above
        logger.exception("audit entry not stored", extra={"audit": asdict(entry)})
        return None


def encode_cursor(month: str, before: str, *, target: str | None = None) -> str:
    return cursors.encode({"list": "audit", "target": target}, {"m": month, "b": before})


def decode_cursor(cursor: str, *, target: str | None = None) -> tuple[str, str]:
    position = cursors.decode(cursor, {"list": "audit", "target": target}, valid=_valid_position)
    return str(position["m"]), str(position["b"])


def _valid_position(position: dict[str, Any]) -> bool:
    month, before = position.get("m"), position.get("b")
    return (
        set(position) == {"m", "b"}
        and isinstance(month, str)
        and isinstance(before, str)
        and _MONTH.match(month) is not None
        and _SK.match(before) is not None
    )


def list_entries(
    *, target: str | None, cursor: str | None, limit: int, repo: AuditRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    """Entries newest first (all, or about one target), a page at a time."""
    before: str | None = None
    month = month_of(iso(clock()))
    if cursor:
        month, before = decode_cursor(cursor, target=target)
    if target:
        entries = repo.target_page(target, before, limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        last = entries[-1] if entries else None
        return {
            "entries": [entry_view(e) for e in entries],
            "next_cursor": encode_cursor(month, repo.position(last), target=target) if more and last else None,
        }
    entries = []
    for _ in range(MONTHS_BACK):
        page = repo.month_page(month, before, limit - len(entries) + 1)
        entries.extend(page)
        if len(entries) > limit:
            entries = entries[:limit]
            return {
                "entries": [entry_view(e) for e in entries],
                "next_cursor": encode_cursor(month_of(entries[-1].at), repo.position(entries[-1])),
            }
        month, before = previous_month(month), None
    return {"entries": [entry_view(e) for e in entries], "next_cursor": None}
