"""Notification rules on the in-memory repository: paging over inbox and broadcasts,
unread counts, read marks, deletion, dedupe and expiry."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import Invalid, NotFound
from chalicelib.game_config import get_game_config
from chalicelib.services import notifications, notify
from tests.fakes import FakeNotificationsRepository

ALICE, BOB = "alice", "bob"


class TickingClock:
    """Each reading is 10 ms after the previous one, so ids (epoch milliseconds first) keep
    the sending order whatever the float rounding of a single millisecond."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 0.01
        return self.now


@pytest.fixture
def repo() -> FakeNotificationsRepository:
    return FakeNotificationsRepository()


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """What would be pushed to connected players (no connections in unit tests)."""
    seen: list[tuple[str, Any]] = []
    monkeypatch.setattr(notify, "announce", lambda notification: seen.append(("announce", notification)))
    monkeypatch.setattr(notify, "signal", lambda ids, kind, data: seen.append((kind, (ids, data))))
    return seen


def send(repo: Any, clock: Any, player_id: str, n: int, **kw: Any) -> list[dict[str, Any]]:
    return [
        notifications.send_to_player(
            player_id=player_id, kind="test", title=f"hello {i}", config=get_game_config(), repo=repo, clock=clock, **kw
        )
        for i in range(n)
    ]


def broadcast(repo: Any, clock: Any, title: str = "Season 2") -> str:
    sent = notifications.broadcast(kind="news", title=title, config=get_game_config(), repo=repo, clock=clock)
    return str(sent["id"])


def listing(
    repo: Any, clock: Any, player_id: str, *, limit: int = 20, cursor: str | None = None, unread_only: bool = False
) -> dict[str, Any]:
    return notifications.list_notifications(
        player_id=player_id, limit=limit, cursor=cursor, unread_only=unread_only, repo=repo, clock=clock
    )


def read(repo: Any, clock: Any, player_id: str, ids: list[str] | None = None, read_all: bool = False) -> dict[str, Any]:
    return notifications.mark_read(player_id=player_id, ids=ids, read_all=read_all, repo=repo, clock=clock)


def delete(repo: Any, clock: Any, player_id: str, notification_id: str) -> dict[str, Any]:
    return notifications.delete_notification(
        player_id=player_id, notification_id=notification_id, repo=repo, clock=clock
    )


def test_250_notifications_page_without_loss_or_repeat(repo, clock, pushed):
    sent = [r["id"] for r in send(repo, clock, ALICE, 125)]
    middle = broadcast(repo, clock, "mid-paging broadcast")
    sent += [r["id"] for r in send(repo, clock, ALICE, 125)]
    ids, cursor, pages = [], None, 0
    while True:
        page = listing(repo, clock, ALICE, limit=7, cursor=cursor)
        assert len(page["notifications"]) <= 7
        ids += [n["id"] for n in page["notifications"]]
        cursor, pages = page["next_cursor"], pages + 1
        if not cursor:
            break
    assert len(ids) == len(set(ids)) == 251
    assert sorted(i for i in ids if i.startswith("n")) == sorted(sent) and middle in ids
    assert ids == sorted(ids, key=lambda i: i[1:], reverse=True)  # newest first across both kinds
    assert pages == -(-251 // 7)
    assert listing(repo, clock, ALICE, limit=1)["unread_count"] == 251


def test_bad_limit_and_cursor_are_400(repo, clock):
    for limit in (0, notifications.MAX_LIMIT + 1):
        with pytest.raises(Invalid) as bad:
            listing(repo, clock, ALICE, limit=limit)
        assert bad.value.details == {"field": "limit"}
    with pytest.raises(Invalid) as cursor:
        listing(repo, clock, ALICE, cursor="not-a-cursor!")
    assert cursor.value.details == {"field": "cursor"}


def test_unread_count_read_and_delete(repo, clock):
    ids = [r["id"] for r in send(repo, clock, ALICE, 5)]
    assert listing(repo, clock, ALICE)["unread_count"] == 5
    assert read(repo, clock, ALICE, ids[:2]) == {"marked": 2, "unread_count": 3}
    # Reading again changes nothing.
    assert read(repo, clock, ALICE, ids[:2])["marked"] == 0
    unread = listing(repo, clock, ALICE, limit=100, unread_only=True)["notifications"]
    assert {n["id"] for n in unread} == set(ids[2:])
    assert delete(repo, clock, ALICE, ids[4]) == {"id": ids[4], "deleted": True}  # unread: count drops
    assert delete(repo, clock, ALICE, ids[0])["deleted"] is True  # read: count stays
    with pytest.raises(NotFound):
        delete(repo, clock, ALICE, ids[0])
    assert listing(repo, clock, ALICE)["unread_count"] == 2
    assert read(repo, clock, ALICE, read_all=True)["unread_count"] == 0
    assert listing(repo, clock, ALICE, unread_only=True)["notifications"] == []


def test_the_inbox_is_the_owners_own(repo, clock):
    mine = [r["id"] for r in send(repo, clock, ALICE, 2)]
    assert listing(repo, clock, BOB)["notifications"] == []
    assert read(repo, clock, BOB, mine)["marked"] == 0
    with pytest.raises(NotFound):
        delete(repo, clock, BOB, mine[0])
    titles = [n["title"] for n in listing(repo, clock, ALICE)["notifications"]]
    assert titles == ["hello 1", "hello 0"]
    assert listing(repo, clock, ALICE)["unread_count"] == 2


def test_dedupe_key_makes_a_resend_a_no_op(repo, clock):
    first, second = send(repo, clock, ALICE, 2, dedupe_key="match:42")
    assert first["duplicate"] is False and second == {
        "id": None,
        "player_id": ALICE,
        "broadcast": False,
        "duplicate": True,
    }
    assert [n["id"] for n in listing(repo, clock, ALICE)["notifications"]] == [first["id"]]
    # The key is the player's: another player's notice with the same key is stored.
    assert send(repo, clock, BOB, 1, dedupe_key="match:42")[0]["duplicate"] is False


def test_broadcast_read_per_player(repo, clock, pushed):
    bid = broadcast(repo, clock)
    assert [kind for kind, _ in pushed] == ["announce"] and pushed[0][1]["id"] == bid
    for p in (ALICE, BOB):
        top = listing(repo, clock, p)["notifications"][0]
        assert (top["id"], top["broadcast"], top["read"]) == (bid, True, False)
    assert read(repo, clock, ALICE, [bid])["marked"] == 1
    assert read(repo, clock, ALICE, [bid])["marked"] == 0
    assert listing(repo, clock, ALICE)["notifications"][0]["read"] is True
    assert listing(repo, clock, ALICE, unread_only=True)["notifications"] == []
    assert listing(repo, clock, BOB)["notifications"][0]["read"] is False
    assert listing(repo, clock, BOB)["unread_count"] == 1
    # Hiding it is per player too.
    assert delete(repo, clock, ALICE, bid)["deleted"] is True
    assert listing(repo, clock, ALICE)["notifications"] == []
    assert listing(repo, clock, ALICE)["unread_count"] == 0
    assert listing(repo, clock, BOB)["notifications"][0]["id"] == bid
    # Read all moves bob's watermark: later broadcasts are unread again.
    read(repo, clock, BOB, read_all=True)
    assert listing(repo, clock, BOB)["notifications"][0]["read"] is True
    later = broadcast(repo, clock, "Season 3")
    top = listing(repo, clock, BOB)["notifications"]
    assert [(n["id"], n["read"]) for n in top] == [(later, False), (bid, True)]
    assert listing(repo, clock, BOB)["unread_count"] == 1


def test_push_only_when_asked(repo, clock, pushed):
    send(repo, clock, ALICE, 1)
    assert pushed == []
    (sent,) = send(repo, clock, ALICE, 1, push=True)
    assert pushed == [("notification", ([ALICE], pushed[0][1][1]))] and pushed[0][1][1]["id"] == sent["id"]


def test_expired_notifications_are_gone(repo, clock):
    config = get_game_config()
    old = notifications.send_to_player(
        player_id=ALICE, kind="test", title="old", config=config, repo=repo, clock=lambda: 1_000_000.0
    )
    fresh = send(repo, clock, ALICE, 1)[0]
    listing_all = listing(repo, clock, ALICE, limit=100)
    assert [n["id"] for n in listing_all["notifications"]] == [fresh["id"]]
    assert listing_all["unread_count"] == 1 == listing(repo, clock, ALICE, unread_only=True)["unread_count"]
    with pytest.raises(NotFound):
        delete(repo, clock, ALICE, old["id"])
    assert read(repo, clock, ALICE, [old["id"]])["marked"] == 0
    # The expired day's counter was dropped when the count was read.
    counters, _ = repo.player_meta(ALICE)
    assert list(counters) == [notifications.expiry_day(clock.now, config.notifications.ttl_days)]


def test_a_notification_expires_at_the_midnight_after_its_days(repo, clock):
    ttl = get_game_config().notifications.ttl_days
    (sent,) = send(repo, clock, ALICE, 1)
    day = notifications.expiry_day(clock.now, ttl)
    clock.now = day * notifications.DAY - 1
    assert [n["id"] for n in listing(repo, clock, ALICE)["notifications"]] == [sent["id"]]
    clock.now = day * notifications.DAY
    body = listing(repo, clock, ALICE)
    assert body["notifications"] == [] and body["unread_count"] == 0


@pytest.mark.parametrize("bad", ["x", "n123", "n" + "0" * 13 + "ZZZZZZZZ"])
def test_unknown_ids_are_404(repo, clock, bad):
    with pytest.raises(NotFound):
        delete(repo, clock, ALICE, bad)
