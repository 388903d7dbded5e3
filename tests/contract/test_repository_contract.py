"""One set of cases for each in-memory fake (tests/fakes.py) and the repository it stands
for on the stand-in: conditional-write outcomes, version conflicts, paging, idempotent
repeats and erasure. A fake that drifts from the real thing fails here."""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.errors import AccountDeleted, ConditionFailed, Conflict, Unauthorized
from chalicelib.storage.accounts import AccountsGateway
from chalicelib.storage.achievements import (
    PLAYERS_COUNTER,
    AchievementRecord,
    AchievementsRepository,
    unlocks_counter,
)
from chalicelib.storage.items import to_item
from chalicelib.storage.notifications import (
    BROADCAST_PK,
    BROADCAST_SK,
    BroadcastMarks,
    Notification,
    NotificationsRepository,
)
from chalicelib.storage.players import (
    AccountDeletedMark,
    AccountStatus,
    PlayersRepository,
    PlayerStats,
    Profile,
    StatsRefused,
    StatWrite,
)
from chalicelib.storage.saves import (
    PendingUpload,
    SavesRepository,
    SlotCapReached,
    SlotChanged,
    SlotContent,
    SlotState,
    object_key,
)
from tests.fakes import (
    FakeAccountsGateway,
    FakeAchievementsRepository,
    FakeNotificationsRepository,
    FakePlayersRepository,
    FakeSavesRepository,
)

NOW = "2026-01-01T00:00:00Z"
LATER_ISO = "2026-01-02T00:00:00Z"
# Items the cases store never expire while the case runs: the stand-in's Time to Live
# housekeeping must not race them.
LATER = 10**10


def _content(text: str = "x", s3_key: str | None = None) -> SlotContent:
    raw = f'"{text}"'.encode()
    if s3_key is not None:
        return SlotContent(
            size=len(raw), checksum=hashlib.sha256(raw).hexdigest(), updated_at=NOW, storage="s3", s3_key=s3_key
        )
    return SlotContent(
        size=len(raw), checksum=hashlib.sha256(raw).hexdigest(), updated_at=NOW, storage="inline", data=raw.decode()
    )


class RealSaves:
    """The DynamoDB and S3 repository, with what a client's PUT to an upload URL does."""

    def __init__(self) -> None:
        self.repo = SavesRepository()

    def put_object(self, key: str, body: bytes) -> None:
        sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
        self.repo.s3.put_object(Bucket=self.repo.bucket, Key=key, Body=body, ChecksumSHA256=sha)


@pytest.fixture(params=["fake", "dynamodb"])
def saves_repo(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        fake = FakeSavesRepository()
        return fake, fake
    request.getfixturevalue("standin")
    real = RealSaves()
    return real.repo, real


@pytest.fixture(params=["fake", "cognito"])
def accounts(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return FakeAccountsGateway()
    request.getfixturevalue("standin")
    return AccountsGateway()


@pytest.fixture(params=["fake", "dynamodb"])
def notifications_repo(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "fake":
        yield FakeNotificationsRepository()
        return
    request.getfixturevalue("standin")
    repo = NotificationsRepository()
    before = {n.id for n in repo.page(None, before=None, limit=1000)[0]}
    yield repo
    # Broadcasts are everyone's: the ones a case sent go, so no later test sees them.
    for note in repo.page(None, before=None, limit=1000)[0]:
        if note.id not in before:
            repo.client.delete_item(
                TableName=repo.table, Key=to_item({"PK": BROADCAST_PK, "SK": BROADCAST_SK + note.id[1:]})
            )


@pytest.fixture(params=["fake", "dynamodb"])
def achievements_repos(request: pytest.FixtureRequest) -> Any:
    """The achievements repository and the players repository its rewards go to."""
    if request.param == "fake":
        players = FakePlayersRepository()
        return FakeAchievementsRepository(players), players
    request.getfixturevalue("standin")
    return AchievementsRepository(), PlayersRepository()


def _player() -> str:
    return f"contract-{uuid.uuid4().hex}"


# -- saves ------------------------------------------------------------------------------


def test_saves_create_read_and_create_again_conflicts(saves_repo):
    repo, _ = saves_repo
    player = _player()
    assert repo.get_state(player, "a") == SlotState() and repo.get_slot(player, "a") is None
    assert repo.create_slot(player, "a", _content("one"), after_version=0, max_slots=5) == 1
    slot = repo.get_slot(player, "a")
    assert slot is not None
    assert (slot.slot, slot.version, slot.storage, slot.data) == ("a", 1, "inline", '"one"')
    assert repo.get_state(player, "a") == SlotState(version=1, updated_at=NOW)
    with pytest.raises(SlotChanged) as changed:
        repo.create_slot(player, "a", _content("two"), after_version=0, max_slots=5)
    assert changed.value.state == SlotState(version=1, updated_at=NOW)
    assert repo.get_slot(player, "a").data == '"one"'


def test_saves_replace_checks_the_version_and_returns_the_previous_state(saves_repo):
    repo, _ = saves_repo
    player = _player()
    repo.create_slot(player, "a", _content(s3_key="saves/k1"), after_version=0, max_slots=5)
    with pytest.raises(SlotChanged) as stale:
        repo.replace_slot(player, "a", _content("late"), expected_version=2)
    assert stale.value.state is not None and stale.value.state.version == 1
    previous = repo.replace_slot(player, "a", _content("next"), expected_version=1)
    assert previous.version == 1 and previous.s3_key == "saves/k1"
    slot = repo.get_slot(player, "a")
    # The move back inline drops the object key.
    assert slot.version == 2 and slot.s3_key is None and slot.data == '"next"'
    with pytest.raises(SlotChanged) as missing:
        repo.replace_slot(player, "none", _content(), expected_version=1)
    assert missing.value.state is None


def test_saves_deletion_leaves_a_marker_the_next_creation_continues(saves_repo):
    repo, _ = saves_repo
    player = _player()
    repo.create_slot(player, "a", _content(), after_version=0, max_slots=5)
    with pytest.raises(SlotChanged):
        repo.delete_slot(player, "a", expected_version=2, now=NOW, marker_expires_at=LATER)
    repo.delete_slot(player, "a", expected_version=1, now=NOW, marker_expires_at=LATER)
    marker = repo.get_state(player, "a")
    assert marker.version == 2 and marker.deleted and not marker.live and repo.get_slot(player, "a") is None
    with pytest.raises(SlotChanged) as again:
        repo.delete_slot(player, "a", expected_version=1, now=NOW, marker_expires_at=LATER)
    assert again.value.state is not None and again.value.state.deleted
    with pytest.raises(SlotChanged) as from_zero:
        repo.create_slot(player, "a", _content(), after_version=0, max_slots=5)
    assert from_zero.value.state is not None and from_zero.value.state.version == 2
    with pytest.raises(SlotChanged):
        repo.replace_slot(player, "a", _content(), expected_version=2)
    assert repo.create_slot(player, "a", _content("back"), after_version=2, max_slots=5) == 3
    assert repo.get_slot(player, "a").version == 3


def test_saves_slot_cap_counts_live_slots(saves_repo):
    repo, _ = saves_repo
    player = _player()
    for name in ("a", "b"):
        repo.create_slot(player, name, _content(), after_version=0, max_slots=2)
    with pytest.raises(SlotCapReached) as cap:
        repo.create_slot(player, "c", _content(), after_version=0, max_slots=2)
    assert cap.value.limit == 2 and repo.get_state(player, "c") == SlotState()
    # The slot's own condition is reported first, even at the cap.
    with pytest.raises(SlotChanged):
        repo.create_slot(player, "a", _content(), after_version=0, max_slots=2)
    repo.delete_slot(player, "a", expected_version=1, now=NOW, marker_expires_at=LATER)
    assert repo.create_slot(player, "c", _content(), after_version=0, max_slots=2) == 1


def test_saves_listing_pages_in_name_order_without_data(saves_repo):
    repo, _ = saves_repo
    player = _player()
    for name in ("c", "a", "b", "d"):
        repo.create_slot(player, name, _content(name), after_version=0, max_slots=9)
    repo.delete_slot(player, "b", expected_version=1, now=NOW, marker_expires_at=LATER)
    first, cursor = repo.list_slots(player, after=None, limit=2)
    # A deleted slot's marker takes a place in the page, which comes back shorter.
    assert [s.slot for s in first] == ["a"] and cursor == "b"
    assert all(s.data is None and s.s3_key is None for s in first)
    rest, end = repo.list_slots(player, after=cursor, limit=5)
    assert [s.slot for s in rest] == ["c", "d"] and end is None
    assert repo.list_slots(_player(), after=None, limit=5) == ([], None)


def test_saves_pending_uploads_and_objects(saves_repo):
    repo, client = saves_repo
    player = _player()
    upload = PendingUpload(slot="a", size=3, sha256="0" * 64, s3_key="k", created_at=NOW, expires_at=LATER)
    assert repo.get_upload(player, "u1") is None
    repo.put_upload(player, "u1", upload)
    assert repo.get_upload(player, "u1") == upload
    repo.delete_upload(player, "u1")
    repo.delete_upload(player, "u1")  # a repeat is harmless
    assert repo.get_upload(player, "u1") is None

    key = object_key(player, "a", "u2")
    assert repo.head_object(key) is None
    body = b"0123456789" * 100
    client.put_object(key, body)
    info = repo.head_object(key)
    assert info is not None and info.size == len(body)
    assert info.sha256_b64 in (None, base64.b64encode(hashlib.sha256(body).digest()).decode())
    assert repo.object_sha256(key, max_bytes=len(body)) == hashlib.sha256(body).hexdigest()
    assert repo.object_sha256(key, max_bytes=len(body) - 1) is None
    repo.delete_object(key)
    repo.delete_object(key)
    assert repo.head_object(key) is None


def test_saves_erasure_takes_everything_of_the_player_once(saves_repo):
    repo, client = saves_repo
    player, other = _player(), _player()
    for who in (player, other):
        repo.create_slot(who, "a", _content(), after_version=0, max_slots=9)
    repo.create_slot(player, "b", _content(), after_version=0, max_slots=9)
    repo.delete_slot(player, "b", expected_version=1, now=NOW, marker_expires_at=LATER)
    repo.put_upload(
        player, "u", PendingUpload(slot="a", size=1, sha256="0" * 64, s3_key="k", created_at=NOW, expires_at=LATER)
    )
    client.put_object(object_key(player, "a", "u"), b"1")
    # Two slot items (one a marker), the slot counter, one upload, one object.
    assert repo.erase_player(player) == 5
    assert repo.get_state(player, "a") == SlotState() and repo.get_state(player, "b") == SlotState()
    assert repo.get_upload(player, "u") is None and repo.head_object(object_key(player, "a", "u")) is None
    assert repo.list_slots(player, after=None, limit=9) == ([], None)
    assert repo.erase_player(player) == 0
    # The count went with it: the cap starts afresh. The other player keeps everything.
    repo.create_slot(player, "x", _content(), after_version=0, max_slots=1)
    assert repo.get_slot(other, "a") is not None


# -- notifications ----------------------------------------------------------------------

DAY = 86_400
_sequence = itertools.count()


def _note(kind: str = "n", *, title: str = "t") -> Notification:
    """A notification as the service builds it; ids strictly increase within a run."""
    ms, seq = int(time.time() * 1000), next(_sequence) % 1000
    return Notification(
        id=f"{kind}{ms:013d}{seq:05d}abc",
        kind="test",
        title=title,
        body="",
        data={"k": [1, 2.5]},
        created_at=NOW,
        expires_at=int(time.time()) + 3 * DAY,
    )


def _day(note: Notification) -> int:
    return note.expires_at // DAY


def _sent(repo: Any, player: str | None, n: int, **kw: Any) -> list[Notification]:
    notes = [_note("n" if player else "b", **kw) for _ in range(n)]
    for note in notes:
        assert repo.put(player, note, day=_day(note), dedupe_key=None) is True
    return notes


def _ids(notes: list[Notification]) -> list[str]:
    return [n.id for n in notes]


def test_notifications_store_and_dedupe(notifications_repo):
    repo = notifications_repo
    player = _player()
    note = _note()
    assert repo.put(player, note, day=_day(note), dedupe_key="match:1") is True
    again = _note()
    assert repo.put(player, again, day=_day(again), dedupe_key="match:1") is False
    assert repo.page(player, before=None, limit=10) == ([note], None)
    assert repo.player_meta(player) == ({_day(note): 1}, BroadcastMarks())
    assert repo.player_meta(_player()) == ({}, BroadcastMarks())


def test_notifications_page_newest_first_with_an_exclusive_cursor(notifications_repo):
    repo = notifications_repo
    player = _player()
    notes = _sent(repo, player, 5)
    newest = _ids(list(reversed(notes)))
    first, last = repo.page(player, before=None, limit=2)
    assert _ids(first) == newest[:2] and last == newest[1][1:]
    second, last2 = repo.page(player, before=last, limit=2)
    assert _ids(second) == newest[2:4] and last2 == newest[3][1:]
    rest, end = repo.page(player, before=last2, limit=5)
    assert _ids(rest) == newest[4:] and end is None
    # A cursor whose own item is gone still pages from its place, never more than asked,
    # and the next page goes on from the last item given.
    assert repo.delete(player, first[1], _day(first[1])) is True
    after_gap, gap_last = repo.page(player, before=last, limit=1)
    assert _ids(after_gap) == newest[2:3] and gap_last == newest[2][1:]
    following, _ = repo.page(player, before=gap_last, limit=1)
    assert _ids(following) == newest[3:4]


def test_notifications_mark_read_once_and_the_unread_page(notifications_repo):
    repo = notifications_repo
    player = _player()
    notes = _sent(repo, player, 4)
    day = _day(notes[0])
    now = int(time.time())
    items = list(repo.get_many(player, _ids(notes[:2])).values())
    assert repo.mark_read(player, items, now, _day) == 2
    # The same (stale) items again: nothing flips twice, the counter holds.
    assert repo.mark_read(player, items, now, _day) == 0
    assert repo.player_meta(player)[0] == {day: 2}
    unread, _ = repo.page(player, before=None, limit=10, unread_only=True)
    assert sorted(_ids(unread)) == sorted(_ids(notes[2:]))
    assert repo.get_many(player, [notes[0].id])[notes[0].id].read is True
    # An expired or deleted item is not marked.
    gone = repo.get_many(player, [notes[2].id])[notes[2].id]
    assert repo.delete(player, gone, day) is True
    assert repo.mark_read(player, [gone], now, _day) == 0
    late = repo.get_many(player, [notes[3].id])[notes[3].id]
    assert repo.mark_read(player, [late], notes[3].expires_at, _day) == 0
    assert repo.player_meta(player)[0] == {day: 1}


def test_notifications_delete_is_conditional_on_the_read_state_seen(notifications_repo):
    repo = notifications_repo
    player = _player()
    (note,) = _sent(repo, player, 1)
    seen_unread = repo.get_many(player, [note.id])[note.id]
    repo.mark_read(player, [seen_unread], int(time.time()), _day)
    assert repo.delete(player, seen_unread, _day(note)) is False  # it was read meanwhile
    seen_read = repo.get_many(player, [note.id])[note.id]
    assert seen_read == replace(note, read=True)
    assert repo.delete(player, seen_read, None) is True
    assert repo.delete(player, seen_read, None) is False
    assert repo.get_many(player, [note.id]) == {}
    assert repo.player_meta(player)[0] == {_day(note): 0}


def test_notifications_broadcasts_and_markers(notifications_repo):
    repo = notifications_repo
    player = _player()
    shared = _sent(repo, None, 3)
    newest, _ = repo.page(None, before=None, limit=2)
    assert newest == [shared[2], shared[1]]
    assert repo.broadcasts_after(shared[0].id[1:], 10) == [shared[2], shared[1]]
    assert repo.broadcasts_after(shared[0].id[1:], 1) == [shared[2]]
    (own,) = _sent(repo, player, 1)
    found = repo.get_many(player, [own.id, shared[1].id, "n0000000000000deadbeef", own.id])
    assert found == {own.id: own, shared[1].id: shared[1]}
    assert repo.player_meta(player)[0] == {_day(own): 1}  # a broadcast counts for nobody

    repo.add_marks(player)  # nothing to add: nothing written
    assert repo.player_meta(player)[1] == BroadcastMarks()
    repo.add_marks(player, read={shared[0].id}, hidden={shared[1].id})
    repo.add_marks(player, read={shared[0].id, shared[2].id})
    assert repo.player_meta(player)[1] == BroadcastMarks(
        read=frozenset({shared[0].id, shared[2].id}), hidden=frozenset({shared[1].id})
    )
    repo.set_watermark(player, shared[1].id[1:])
    assert repo.player_meta(player)[1] == BroadcastMarks(upto=shared[1].id[1:], hidden=frozenset({shared[1].id}))
    repo.set_watermark(player, shared[0].id[1:])  # never backwards
    assert repo.player_meta(player)[1].upto == shared[1].id[1:]


def test_notifications_prune_and_erase(notifications_repo):
    repo = notifications_repo
    player, other = _player(), _player()
    past_day = int(time.time()) // DAY - 1  # the counter of a day gone (its items, not stored)
    repo.put(player, _note(), day=past_day, dedupe_key="once")
    fresh = _sent(repo, player, 2)
    _sent(repo, other, 1)
    repo.add_marks(player, hidden={"b0000000000000deadbeef"})
    assert repo.player_meta(player)[0] == {past_day: 1, _day(fresh[0]): 2}
    repo.prune_buckets(player, [past_day])
    assert repo.player_meta(player)[0] == {_day(fresh[0]): 2}
    # Three items, the dedupe marker, the counters and the markers.
    assert repo.erase_player(player) == 6
    assert repo.page(player, before=None, limit=10) == ([], None)
    assert repo.player_meta(player) == ({}, BroadcastMarks())
    assert repo.erase_player(player) == 0
    assert len(repo.page(other, before=None, limit=10)[0]) == 1
    # The dedupe key went with the rest: the same send is stored again.
    again = _note()
    assert repo.put(player, again, day=_day(again), dedupe_key="once") is True


# -- players' stats and achievements ------------------------------------------------------


def _sum(name: str, value: float, *, at_most: float | None = None, absent_ok: bool = True) -> StatWrite:
    """A sum write bounded above at `at_most` (after adding), as the stats service plans one."""
    return StatWrite(
        name, "sum", value, 0, stored_at_most=None if at_most is None else at_most - value, absent_ok=absent_ok
    )


def test_stats_sums_latest_and_bounds(achievements_repos):
    _, players = achievements_repos
    player = _player()
    assert players.get_stats(player) == PlayerStats(player)
    stored = players.apply_stats(player, [_sum("xp", 40, at_most=100), StatWrite("level", "latest", 3)], NOW)
    assert stored == PlayerStats(player, values={"xp": 40, "level": 3}, updated_at=NOW)
    stored = players.apply_stats(player, [_sum("xp", 60, at_most=100), StatWrite("level", "latest", 2)], LATER_ISO)
    assert stored == PlayerStats(player, values={"xp": 100, "level": 2}, updated_at=LATER_ISO)
    assert players.get_stats(player) == stored
    with pytest.raises(StatsRefused) as over:
        players.apply_stats(player, [_sum("xp", 1, at_most=100), StatWrite("level", "latest", 9)], NOW)
    assert over.value.stats == stored  # what is stored, nothing written
    assert players.get_stats(player) == stored
    with pytest.raises(StatsRefused) as absent:
        players.apply_stats(player, [_sum("gold", 5, absent_ok=False)], NOW)
    assert absent.value.stats == stored and "gold" not in players.get_stats(player).values
    assert players.apply_stats(player, [_sum("xp", -30)], NOW).values["xp"] == 70
    # A refusal before anything was ever stored carries empty stats.
    other = _player()
    with pytest.raises(StatsRefused) as never:
        players.apply_stats(other, [_sum("gold", 5, absent_ok=False)], NOW)
    assert never.value.stats == PlayerStats(other) == players.get_stats(other)


def test_stats_extremes_keep_the_better_value(achievements_repos):
    _, players = achievements_repos
    player = _player()
    assert players.apply_extreme(player, StatWrite("best", "max", 10), NOW).values["best"] == 10
    assert players.apply_extreme(player, StatWrite("best", "max", 7), NOW).values["best"] == 10
    assert players.apply_extreme(player, StatWrite("best", "max", 10), NOW).values["best"] == 10
    assert players.apply_extreme(player, StatWrite("best", "max", 12.5), NOW).values["best"] == 12.5
    assert players.apply_extreme(player, StatWrite("lap", "min", 30), NOW).values["lap"] == 30
    assert players.apply_extreme(player, StatWrite("lap", "min", 31), NOW).values["lap"] == 30
    assert players.apply_extreme(player, StatWrite("lap", "min", 29), NOW).values["lap"] == 29
    assert players.get_stats(player) == PlayerStats(player, values={"best": 12.5, "lap": 29}, updated_at=NOW)
    assert players.erase_player(player) == 1 and players.get_stats(player) == PlayerStats(player)


def _profile(player: str, name: str | None = None) -> Profile:
    return Profile(
        player_id=player,
        username=f"user-{player}",
        display_name=name or f"Name {player}",
        created_at=NOW,
        last_seen_at=NOW,
        is_guest=True,
    )


def test_profiles_created_once_renamed_and_found_by_name(achievements_repos):
    _, players = achievements_repos
    player, other = _player(), _player()
    name = f"Ace {uuid.uuid4().hex[:8]}"
    assert players.get_profile(player) is None
    with pytest.raises(ConditionFailed):
        players.update_profile(player, last_seen_at=NOW)
    assert players.get_profile(player) is None  # an update never creates a profile
    assert players.create_profile(_profile(player, name)) is True
    assert players.create_profile(_profile(player, "Someone Else")) is False
    assert players.get_profile(player) == _profile(player, name)
    players.create_profile(_profile(other, name.upper()))
    found = players.find_by_name(f"  {name.lower()} ")
    assert sorted(found, key=lambda p: p.player_id) == sorted(
        [_profile(player, name), _profile(other, name.upper())], key=lambda p: p.player_id
    )
    updated = players.update_profile(player, display_name="Renamed " + name, is_guest=False)
    assert updated == replace(_profile(player, name), display_name="Renamed " + name, is_guest=False)
    assert players.get_profile(player) == updated
    updated = players.update_profile(player, last_seen_at=LATER_ISO, email="a@example.com")
    assert (updated.last_seen_at, updated.email, updated.display_name) == (
        LATER_ISO,
        "a@example.com",
        "Renamed " + name,
    )
    assert [p.player_id for p in players.find_by_name(name)] == [other]
    assert players.display_names([player, other, _player(), player]) == {
        player: "Renamed " + name,
        other: name.upper(),
    }
    # Erasure takes the partition (profile and stats), once.
    players.apply_stats(player, [_sum("xp", 1)], NOW)
    assert players.erase_player(player) == 2 and players.get_profile(player) is None
    assert players.erase_player(player) == 0
    players.erase_player(other)


def test_account_status_ban_unban_and_deletion_is_final(achievements_repos):
    _, players = achievements_repos
    player = _player()
    assert players.get_account_status(player) is None
    banned = players.set_ban(player, banned=True, reason="cheating", by="admin", at=NOW)
    assert banned == AccountStatus(
        player_id=player, status="banned", reason="cheating", changed_at=NOW, changed_by="admin"
    )
    assert players.get_account_status(player) == banned
    unbanned = players.set_ban(player, banned=False, reason="appeal", by="admin", at=LATER_ISO)
    assert unbanned == replace(banned, status="active", reason="appeal", changed_at=LATER_ISO)
    players.mark_deleted(player, NOW)
    mark = AccountStatus(player_id=player, status="deleted", changed_at=NOW)
    assert players.get_account_status(player) == mark
    with pytest.raises(AccountDeletedMark) as refused:
        players.set_ban(player, banned=True, reason="again", by="admin", at=NOW)
    assert refused.value.status == mark
    # No profile can be created for a deleted account; erasure leaves its status.
    with pytest.raises(AccountDeleted):
        players.create_profile(_profile(player))
    assert players.get_profile(player) is None
    players.erase_player(player)
    assert players.get_account_status(player) == mark


def test_deletion_mark_keeps_the_username_and_queues_a_second_erasure(achievements_repos):
    _, players = achievements_repos
    player, other = _player(), _player()
    players.mark_deleted(player, NOW, "guest-name", "2031-05-01T00:10:00.000Z")
    players.mark_deleted(other, NOW)  # not queued
    assert players.get_account_status(player) == AccountStatus(
        player_id=player, status="deleted", changed_at=NOW, username="guest-name"
    )
    assert players.get_account_status(other) == AccountStatus(player_id=other, status="deleted", changed_at=NOW)
    ours = lambda due: [(k, p) for k, p in due if p in (player, other)]  # noqa: E731 (the stand-in is shared)
    assert ours(players.erasures_due("2031-05-01T00:09:59.999Z", 1000)) == []
    due = ours(players.erasures_due("2031-05-01T00:10:00.001Z", 1000))
    assert [p for _, p in due] == [player]
    players.erase_again_done(due[0][0])
    players.erase_again_done(due[0][0])  # idempotent
    assert ours(players.erasures_due("2031-05-01T00:10:00.001Z", 1000)) == []
    # A ban queues its second pass the same way (the job reads the status to tell them apart).
    players.queue_again(other, "2031-05-01T00:12:00.000Z")
    assert [p for _, p in ours(players.erasures_due("2031-05-01T00:12:00.001Z", 1000))] == [other]


def test_email_claims_and_rate_windows(achievements_repos):
    _, players = achievements_repos
    player, other = _player(), _player()
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    assert players.username_for_email(email) is None and players.player_for_email(email) is None
    players.claim_email(email, player, "u1")
    players.claim_email(email, player, "u1")  # a repeat by its holder is harmless
    with pytest.raises(ConditionFailed):
        players.claim_email(email, other, "u2")
    assert (players.username_for_email(email), players.player_for_email(email)) == ("u1", player)
    players.release_email(email)
    players.release_email(email)
    players.claim_email(email, other, "u2")
    assert players.player_for_email(email) == other
    players.release_email(email)

    bucket = f"contract#{uuid.uuid4().hex}"
    assert [players.take_rate_token(bucket, 100, 2, LATER) for _ in range(3)] == [True, True, False]
    assert players.take_rate_token(bucket, 160, 2, LATER) is True  # the next window


def test_achievement_progress_stops_at_the_unlock(achievements_repos):
    repo, _ = achievements_repos
    player, ach = _player(), f"c{uuid.uuid4().hex[:10]}"
    assert repo.record(player, ach) is None and repo.records(player) == {}
    record, applied = repo.add_progress(player, ach, 3, NOW)
    assert applied and record == AchievementRecord(player, ach, progress=3, updated_at=NOW)
    record, applied = repo.add_progress(player, ach, 4, LATER_ISO)
    assert applied and record == AchievementRecord(player, ach, progress=7, updated_at=LATER_ISO)
    assert repo.record(player, ach) == record
    assert repo.unlock(player, ach, now=NOW, progress=10) == "unlocked"
    unlocked = AchievementRecord(player, ach, progress=10, unlocked_at=NOW, reward_given=False, updated_at=NOW)
    record, applied = repo.add_progress(player, ach, 5, LATER_ISO)
    assert not applied and record == unlocked
    assert repo.records(player) == {ach: unlocked} and repo.record(player, ach) == unlocked


def test_achievement_unlocks_once_with_its_reward_and_counts(achievements_repos):
    repo, players = achievements_repos
    player, ach, other = _player(), f"c{uuid.uuid4().hex[:10]}", f"c{uuid.uuid4().hex[:10]}"
    counter = unlocks_counter(ach)
    assert repo.counts([counter, unlocks_counter(other)]) == {counter: 0, unlocks_counter(other): 0}
    reward = players.stats_update(player, [_sum("xp", 50, at_most=100)], NOW)
    assert repo.unlock(player, ach, now=NOW, progress=None, reward=reward) == "rewarded"
    assert repo.unlock(player, ach, now=NOW, progress=None, reward=reward) is None  # once, reward too
    assert players.get_stats(player).values["xp"] == 50
    assert repo.counts([counter])[counter] == 1
    # A reward that would leave its bounds: unlocked without it, still once.
    players.apply_stats(player, [_sum("xp", 30)], NOW)
    reward = players.stats_update(player, [_sum("xp", 50, at_most=100)], NOW)
    assert repo.unlock(player, other, now=NOW, progress=1, reward=reward) == "reward_refused"
    assert players.get_stats(player).values["xp"] == 80
    record = repo.record(player, other)
    assert record is not None and record.reward_given is False and record.progress == 1
    assert repo.record(player, ach) == AchievementRecord(
        player, ach, progress=0, unlocked_at=NOW, reward_given=True, updated_at=NOW
    )
    assert repo.counts([unlocks_counter(other)])[unlocks_counter(other)] == 1


def test_achievement_players_counted_once_and_erasure_uncounts(achievements_repos):
    repo, _ = achievements_repos
    player, ach = _player(), f"c{uuid.uuid4().hex[:10]}"
    players_before = repo.counts([PLAYERS_COUNTER])[PLAYERS_COUNTER]
    assert repo.count_player(player) is True
    assert repo.count_player(player) is False
    assert repo.counts([PLAYERS_COUNTER])[PLAYERS_COUNTER] == players_before + 1
    repo.unlock(player, ach, now=NOW, progress=None)
    repo.add_progress(player, f"{ach}-more", 1, NOW)
    # The marker, the unlocked record, the record in progress.
    assert repo.erase_player(player) == 3
    assert repo.counts([PLAYERS_COUNTER, unlocks_counter(ach)]) == {
        PLAYERS_COUNTER: players_before,
        unlocks_counter(ach): 0,
    }
    assert repo.records(player) == {} and repo.erase_player(player) == 0
    assert repo.count_player(player) is True  # counted again, as a new player would be
    # Leave the shared players counter as found: it must match the profiles other tests count.
    assert repo.erase_player(player) == 1
    assert repo.counts([PLAYERS_COUNTER])[PLAYERS_COUNTER] == players_before


# -- accounts ---------------------------------------------------------------------------


def test_accounts_sign_in_refresh_and_bad_credentials(accounts):
    username, password = f"contract-{uuid.uuid4().hex[:12]}", "Contract-pass-1!"
    sub = accounts.create_user(username, password)
    tokens = accounts.password_auth(username, password)
    assert tokens.player_id == sub and tokens.username == username
    assert tokens.id_token and tokens.access_token and tokens.refresh_token and tokens.expires_in > 0
    refreshed = accounts.refresh(tokens.refresh_token)
    assert refreshed.player_id == sub and refreshed.refresh_token  # kept when none comes back
    with pytest.raises(Unauthorized):
        accounts.password_auth(username, "Wrong-pass-1!")
    with pytest.raises(Unauthorized):
        accounts.password_auth(f"nobody-{uuid.uuid4().hex[:12]}", password)
    with pytest.raises(Conflict):
        accounts.create_user(username, password)


def test_accounts_new_password_and_idempotent_deletion(accounts):
    username = f"contract-{uuid.uuid4().hex[:12]}"
    accounts.create_user(username, "Contract-pass-1!")
    accounts.set_email_and_password(username, f"{username}@example.com", "Contract-pass-2!")
    with pytest.raises(Unauthorized):
        accounts.password_auth(username, "Contract-pass-1!")
    assert accounts.password_auth(username, "Contract-pass-2!").username == username
    accounts.delete_user(username)
    accounts.delete_user(username)  # a repeat is harmless
    with pytest.raises(Unauthorized):
        accounts.password_auth(username, "Contract-pass-2!")
