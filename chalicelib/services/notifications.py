"""Notifications: a persistent inbox per player, broadcasts with per-player read markers.

Expiry is by whole days: a notification lives `ttl_days` and then until the next UTC
midnight, so every item of one expiry day expires at the same instant. That lets the
unread count be a set of counters by expiry day (summed over the days still to come):
exact and O(1) however late DynamoDB's TTL deletes. Broadcasts are one item each in a
shared partition; a player's view of them comes from a watermark plus explicit ids.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import ConditionFailed, Invalid, NotFound
from chalicelib.game_config.declarations import GameConfig
from chalicelib.observability import logger
from chalicelib.services import cursors, notify
from chalicelib.storage.notifications import BroadcastMarks, Notification, NotificationsRepository
from chalicelib.storage.retry import retry

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


def _scope(player_id: str, unread_only: bool) -> dict[str, Any]:
    return {"list": "notifications", "player": player_id, "unread_only": unread_only}


def encode_cursor(t: str, *, player_id: str, unread_only: bool = False) -> str:
    return cursors.encode(_scope(player_id, unread_only), {"t": t})


def decode_cursor(cursor: str, *, player_id: str, unread_only: bool = False) -> str:
    """The position in a cursor issued for this player's listing; anything else is a 400."""
    position = cursors.decode(
        cursor,
        _scope(player_id, unread_only),
        valid=lambda p: set(p) == {"t"} and isinstance(p["t"], str) and _T_PATTERN.match(p["t"]) is not None,
    )
    return str(position["t"])


def _t(item: Notification) -> str:
    return item.id[1:]


def _live(item: Notification, now: float) -> bool:
    return item.expires_at > now


def _marks(marks: BroadcastMarks) -> tuple[str, set[str], set[str]]:
    return marks.upto, set(marks.read), set(marks.hidden)


def _broadcast_read(item: Notification, upto: str, read_ids: set[str]) -> bool:
    return _t(item) <= upto or item.id in read_ids


def notification_view(item: Notification, *, read: bool, broadcast: bool) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "data": item.data,
        "created_at": item.created_at,
        "expires_at": iso(item.expires_at),
        "read": read,
        "broadcast": broadcast,
    }


def _clip(notice_text: str, limit: int) -> str:
    return notice_text if len(notice_text) <= limit else notice_text[: limit - 1] + "…"


def _item(
    kind_letter: str, *, kind: str, title: str, body: str, data: dict[str, Any], now: float, day: int
) -> Notification:
    if len(json.dumps(data, default=str)) > MAX_DATA_BYTES:
        raise Invalid(f"data: over {MAX_DATA_BYTES} bytes of JSON", field="data")
    return Notification(
        id=new_id(kind_letter, now),
        kind=kind[:40],
        title=_clip(title, MAX_TITLE),
        body=_clip(body, MAX_BODY),
        data=data,
        created_at=iso(now),
        expires_at=day * DAY,
        read=False,
    )


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
        "id": item.id if stored else None,
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
    counters: dict[int, int],
    marks: tuple[str, set[str], set[str]],
    *,
    repo: NotificationsRepository,
    now: float,
) -> int:
    today_bound = now / DAY
    live = 0
    dead: list[int] = []
    for day, value in counters.items():
        if day > today_bound:
            live += value
        else:
            dead.append(day)
    if dead:
        repo.prune_buckets(player_id, dead)
    upto, read_ids, hidden = marks
    fresh = repo.broadcasts_after(upto, MAX_BROADCASTS_COUNTED)
    unread_broadcasts = sum(1 for b in fresh if _live(b, now) and b.id not in read_ids and b.id not in hidden)
    return max(0, live) + unread_broadcasts


def unread_count(*, player_id: str, repo: NotificationsRepository, clock: Clock = system_clock) -> int:
    counters, broadcast_marks = repo.player_meta(player_id)
    return _unread_count(player_id, counters, _marks(broadcast_marks), repo=repo, now=clock())


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
    before = decode_cursor(cursor, player_id=player_id, unread_only=unread_only) if cursor else None
    now = clock()
    counters, broadcast_marks = repo.player_meta(player_id)
    marks = _marks(broadcast_marks)
    upto, read_ids, hidden = marks
    inbox, inbox_last = repo.page(player_id, before=before, limit=limit, unread_only=unread_only)
    shared, shared_last = repo.page(None, before=before, limit=limit)
    candidates: list[tuple[str, dict[str, Any]]] = []
    for item in inbox:
        if _live(item, now) and not (unread_only and item.read):
            candidates.append((_t(item), notification_view(item, read=item.read, broadcast=False)))
    for item in shared:
        is_read = _broadcast_read(item, upto, read_ids)
        if _live(item, now) and item.id not in hidden and not (unread_only and is_read):
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
        "next_cursor": encode_cursor(next_t, player_id=player_id, unread_only=unread_only) if next_t else None,
        "unread_count": _unread_count(player_id, counters, marks, repo=repo, now=now),
    }


def _day_of(item: Notification) -> int:
    return item.expires_at // DAY


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
        inbox = [i for i in found.values() if i.id[0] == "n"]
        marked += repo.mark_read(player_id, inbox, int(now), _day_of)
        fresh = {i.id for i in found.values() if i.id[0] == "b" and _live(i, now)}
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

    def once(_attempt: int) -> dict[str, Any]:
        item = repo.get_many(player_id, [notification_id]).get(notification_id)
        if item is None or not _live(item, now):
            raise NotFound("no such notification")
        if notification_id[0] == "b":
            repo.add_marks(player_id, hidden={notification_id})
            return {"id": notification_id, "deleted": True}
        day = None if item.read else _day_of(item)
        if not repo.delete(player_id, item, day):
            raise ConditionFailed()  # read (or deleted) meanwhile: look again
        return {"id": notification_id, "deleted": True}

    return retry(
        once,
        attempts=3,
        retry_on=(ConditionFailed,),
        exhausted=lambda: NotFound("no such notification"),
        first_pause=False,
    )
