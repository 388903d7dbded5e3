"""Notifications: a persistent inbox per player, broadcasts with per-player read markers.

Expiry is by whole days: a notification lives `ttl_days` and then until the next UTC
midnight, so every item of one expiry day expires at the same instant. That lets the
unread count be a set of counters by expiry day (summed over the days still to come):
exact and O(1) however late DynamoDB's TTL deletes. Broadcasts are one item each in a
shared partition; a player's view of them comes from a watermark plus explicit ids.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from typing import Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import Invalid, NotFound
from chalicelib.game_config.schema import GameConfig
from chalicelib.observability import logger
from chalicelib.services import notify
from chalicelib.storage.notifications import NotificationsRepository

DAY = 86_400
MAX_LIMIT = 100
MAX_TITLE = 120
MAX_BODY = 2000
MAX_DATA_BYTES = 4096
MAX_BROADCASTS_COUNTED = 100  # the unread count shows at most this many unread broadcasts
ID_PATTERN = re.compile(r"^[nb][0-9]{13}[0-9a-f]{8}$")
_T_PATTERN = re.compile(r"^[0-9]{13}[0-9a-f]{8}$")


def new_id(kind: str, now: float) -> str:
    """`n` (inbox) or `b` (broadcast) + epoch ms + 8 random hex: time-ordered, unique."""
    return f"{kind}{int(now * 1000):013d}{secrets.token_hex(4)}"


def expiry_day(now: float, ttl_days: int) -> int:
    return int(now // DAY) + ttl_days + 1


def encode_cursor(t: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"t": t}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The position in a cursor; anything that is not one of ours is a 400."""
    bad = Invalid("cursor: not a cursor from this API", field="cursor", code="invalid_cursor")
    if len(cursor) > 200 or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or set(data) != {"t"} or not isinstance(data["t"], str):
        raise bad
    if not _T_PATTERN.match(data["t"]):
        raise bad
    return data["t"]


def _t(item: dict[str, Any]) -> str:
    return str(item["id"])[1:]


def _live(item: dict[str, Any], now: float) -> bool:
    return int(item.get("expires_at", 0)) > now


def _marks(raw: dict[str, Any]) -> tuple[str, set[str], set[str]]:
    return str(raw.get("upto", "")), set(raw.get("rd") or ()), set(raw.get("hd") or ())


def _broadcast_read(item: dict[str, Any], upto: str, read_ids: set[str]) -> bool:
    return _t(item) <= upto or item["id"] in read_ids


def notification_view(item: dict[str, Any], *, read: bool, broadcast: bool) -> dict[str, Any]:
    return {
        "id": item["id"],
        "kind": item.get("kind", ""),
        "title": item.get("title", ""),
        "body": item.get("body", ""),
        "data": item.get("data") or {},
        "created_at": item.get("created_at", ""),
        "expires_at": iso(int(item.get("expires_at", 0))),
        "read": read,
        "broadcast": broadcast,
    }


def _clip(notice_text: str, limit: int) -> str:
    return notice_text if len(notice_text) <= limit else notice_text[: limit - 1] + "…"


def _item(
    kind_letter: str, *, kind: str, title: str, body: str, data: dict[str, Any], now: float, day: int
) -> dict[str, Any]:
    if len(json.dumps(data, default=str)) > MAX_DATA_BYTES:
        raise Invalid(f"data: over {MAX_DATA_BYTES} bytes of JSON", field="data")
    return {
        "id": new_id(kind_letter, now),
        "kind": kind[:40],
        "title": _clip(title, MAX_TITLE),
        "body": _clip(body, MAX_BODY),
        "data": data,
        "created_at": iso(now),
        "expires_at": day * DAY,
        "read": False,
    }


def _store(
    player_id: str | None,
    *,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any] | None,
    dedupe_key: str | None,
    config: GameConfig,
    repo: NotificationsRepository,
    clock: Clock,
    ttl_days: int | None = None,
    push: bool = False,
) -> dict[str, Any]:
    """One inbox item (player_id) or one broadcast item (None); a repeated dedupe_key stores nothing.

    A new broadcast is pushed to everyone connected; a new inbox item to its player when
    `push` (notices from other services are pushed by `notify.send` as their own type)."""
    now = clock()
    day = expiry_day(now, ttl_days or config.notifications.ttl_days)
    prefix = "n" if player_id is not None else "b"
    item = _item(prefix, kind=kind, title=title, body=body, data=data or {}, now=now, day=day)
    stored = repo.put(player_id, item, day=day, dedupe_key=dedupe_key)
    if stored and player_id is None:
        notify.announce(notification_view(item, read=False, broadcast=True))
    elif stored and push and player_id is not None:
        notify.signal([player_id], "notification", notification_view(item, read=False, broadcast=False))
    return {
        "id": item["id"] if stored else None,
        "player_id": player_id,
        "broadcast": player_id is None,
        "duplicate": not stored,
    }


def send_to_player(
    *,
    player_id: str,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    config: GameConfig,
    repo: NotificationsRepository,
    clock: Clock = system_clock,
    ttl_days: int | None = None,
    push: bool = False,
) -> dict[str, Any]:
    """Put one notification in a player's inbox; a repeated dedupe_key stores nothing.
    `push`: also push it to the player's open connections as a `notification` message."""
    return _store(
        player_id,
        kind=kind,
        title=title,
        body=body,
        data=data,
        dedupe_key=dedupe_key,
        config=config,
        repo=repo,
        clock=clock,
        ttl_days=ttl_days,
        push=push,
    )


def broadcast(
    *,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    config: GameConfig,
    repo: NotificationsRepository,
    clock: Clock = system_clock,
    ttl_days: int | None = None,
) -> dict[str, Any]:
    """One item that every player sees, each with their own read state."""
    result = _store(
        None,
        kind=kind,
        title=title,
        body=body,
        data=data,
        dedupe_key=dedupe_key,
        config=config,
        repo=repo,
        clock=clock,
        ttl_days=ttl_days,
    )
    logger.info("broadcast sent", extra={"notification_id": result["id"], "duplicate": result["duplicate"]})
    return result


def _unread_count(
    player_id: str,
    counters: dict[str, Any],
    marks: tuple[str, set[str], set[str]],
    *,
    repo: NotificationsRepository,
    now: float,
) -> int:
    today_bound = now / DAY
    live = 0
    dead: list[str] = []
    for name, value in counters.items():
        if not re.fullmatch(r"d[0-9]+", name):
            continue
        if int(name[1:]) > today_bound:
            live += int(value)
        else:
            dead.append(name)
    if dead:
        repo.prune_buckets(player_id, dead)
    upto, read_ids, hidden = marks
    fresh = repo.broadcasts_after(upto, MAX_BROADCASTS_COUNTED)
    unread_broadcasts = sum(1 for b in fresh if _live(b, now) and b["id"] not in read_ids and b["id"] not in hidden)
    return max(0, live) + unread_broadcasts


def unread_count(*, player_id: str, repo: NotificationsRepository, clock: Clock = system_clock) -> int:
    counters, raw_marks = repo.player_meta(player_id)
    return _unread_count(player_id, counters, _marks(raw_marks), repo=repo, now=clock())


def list_notifications(
    *,
    player_id: str,
    limit: int,
    cursor: str | None,
    unread_only: bool,
    repo: NotificationsRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Newest first: the player's inbox merged with broadcasts, one opaque cursor over both."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit: must be 1 to {MAX_LIMIT}", field="limit")
    before = decode_cursor(cursor) if cursor else None
    now = clock()
    counters, raw_marks = repo.player_meta(player_id)
    marks = _marks(raw_marks)
    upto, read_ids, hidden = marks
    inbox, inbox_last = repo.page(player_id, before=before, limit=limit, unread_only=unread_only)
    shared, shared_last = repo.page(None, before=before, limit=limit)
    candidates: list[tuple[str, dict[str, Any]]] = []
    for item in inbox:
        if _live(item, now) and not (unread_only and item.get("read")):
            candidates.append((_t(item), notification_view(item, read=bool(item.get("read")), broadcast=False)))
    for item in shared:
        is_read = _broadcast_read(item, upto, read_ids)
        if _live(item, now) and item["id"] not in hidden and not (unread_only and is_read):
            candidates.append((_t(item), notification_view(item, read=is_read, broadcast=True)))
    candidates.sort(key=lambda c: c[0], reverse=True)
    # A stream with more items was read only down to its last evaluated key: nothing
    # below the highest such frontier may be shown yet, or an item could be skipped.
    frontier = max((f for f in (inbox_last, shared_last) if f is not None), default=None)
    if frontier is not None:
        candidates = [c for c in candidates if c[0] >= frontier]
    page = candidates[:limit]
    next_t: str | None = None
    if len(candidates) > limit:
        next_t = page[-1][0]
    elif frontier is not None:
        next_t = frontier
    return {
        "notifications": [view for _, view in page],
        "next_cursor": encode_cursor(next_t) if next_t else None,
        "unread_count": _unread_count(player_id, counters, marks, repo=repo, now=now),
    }


def _day_of(item: dict[str, Any]) -> int:
    return int(item["expires_at"]) // DAY


def mark_read(
    *,
    player_id: str,
    ids: list[str] | None,
    read_all: bool,
    repo: NotificationsRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Mark the given ids (inbox or broadcast) read, or everything; unknown ids are skipped."""
    now = clock()
    marked = 0
    if read_all:
        for _ in range(20):  # 20 x 99 unread per call; `unread_count` tells if more remain
            items, _last = repo.page(player_id, before=None, limit=99, unread_only=True)
            flipped = repo.mark_read(player_id, items, int(now), _day_of)
            marked += flipped
            if not items or not flipped:
                break
        newest, _ = repo.page(None, before=None, limit=1)
        if newest:
            repo.set_watermark(player_id, _t(newest[0]))
    elif ids:
        found = repo.get_many(player_id, ids)
        inbox = [i for i in found.values() if i["id"][0] == "n"]
        marked += repo.mark_read(player_id, inbox, int(now), _day_of)
        fresh = {i["id"] for i in found.values() if i["id"][0] == "b" and _live(i, now)}
        if fresh:
            upto, read_ids, _hidden = _marks(repo.player_meta(player_id)[1])
            fresh = {b for b in fresh if b[1:] > upto and b not in read_ids}
            repo.add_marks(player_id, read=fresh)
            marked += len(fresh)
    return {"marked": marked, "unread_count": unread_count(player_id=player_id, repo=repo, clock=clock)}


def delete_notification(
    *, player_id: str, notification_id: str, repo: NotificationsRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    """Delete an inbox item, or hide a broadcast for this player only."""
    if not ID_PATTERN.match(notification_id):
        raise NotFound("no such notification")
    now = clock()
    for _ in range(3):
        item = repo.get_many(player_id, [notification_id]).get(notification_id)
        if item is None or not _live(item, now):
            raise NotFound("no such notification")
        if notification_id[0] == "b":
            repo.add_marks(player_id, hidden={notification_id})
            return {"id": notification_id, "deleted": True}
        day = None if item.get("read") else _day_of(item)
        if repo.delete(player_id, item, day):
            return {"id": notification_id, "deleted": True}
    raise NotFound("no such notification")
