"""One set of cases for each in-memory fake (tests/fakes.py) and the repository it stands
for on the stand-in: conditional-write outcomes, version conflicts, paging, idempotent
repeats and erasure. A fake that drifts from the real thing fails here."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest

from chalicelib.errors import Conflict, Unauthorized
from chalicelib.storage.accounts import AccountsGateway
from chalicelib.storage.saves import (
    PendingUpload,
    SavesRepository,
    SlotCapReached,
    SlotChanged,
    SlotContent,
    SlotState,
    object_key,
)
from tests.fakes import FakeAccountsGateway, FakeSavesRepository

NOW = "2026-01-01T00:00:00Z"


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
        repo.delete_slot(player, "a", expected_version=2, now=NOW, marker_expires_at=10**10)
    repo.delete_slot(player, "a", expected_version=1, now=NOW, marker_expires_at=10**10)
    marker = repo.get_state(player, "a")
    assert marker.version == 2 and marker.deleted and not marker.live and repo.get_slot(player, "a") is None
    with pytest.raises(SlotChanged) as again:
        repo.delete_slot(player, "a", expected_version=1, now=NOW, marker_expires_at=10**10)
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
    repo.delete_slot(player, "a", expected_version=1, now=NOW, marker_expires_at=10**10)
    assert repo.create_slot(player, "c", _content(), after_version=0, max_slots=2) == 1


def test_saves_listing_pages_in_name_order_without_data(saves_repo):
    repo, _ = saves_repo
    player = _player()
    for name in ("c", "a", "b", "d"):
        repo.create_slot(player, name, _content(name), after_version=0, max_slots=9)
    repo.delete_slot(player, "b", expected_version=1, now=NOW, marker_expires_at=10**10)
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
    upload = PendingUpload(slot="a", size=3, sha256="0" * 64, s3_key="k", created_at=NOW, expires_at=123)
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
    repo.delete_slot(player, "b", expected_version=1, now=NOW, marker_expires_at=10**10)
    repo.put_upload(
        player, "u", PendingUpload(slot="a", size=1, sha256="0" * 64, s3_key="k", created_at=NOW, expires_at=1)
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
