"""Cloud-save rules on the in-memory repository: versions, conflicts, the caps, uploads."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import pytest

from chalicelib.errors import Conflict, Invalid, NotFound, TooLarge
from chalicelib.game_config import get_game_config
from chalicelib.game_config.declarations import SavesConfig
from chalicelib.services import saves
from tests.fakes import FakeSavesRepository

PLAYER = "player-1"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def repo() -> FakeSavesRepository:
    return FakeSavesRepository()


@pytest.fixture
def config() -> SavesConfig:
    return get_game_config().saves


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(repo: FakeSavesRepository, config: SavesConfig, clock: Clock, slot: str, data: Any, expected: int) -> Any:
    return saves.put_slot(
        player_id=PLAYER, slot=slot, data=data, expected_version=expected, config=config, repo=repo, clock=clock
    )


def get(repo: FakeSavesRepository, config: SavesConfig, slot: str) -> dict[str, Any]:
    return saves.get_slot(player_id=PLAYER, slot=slot, config=config, repo=repo)


def upload(
    repo: FakeSavesRepository,
    config: SavesConfig,
    clock: Clock,
    slot: str,
    blob: bytes,
    expected: int,
    *,
    announced: bytes | None = None,
    with_checksum: bool = True,
) -> dict[str, Any]:
    """Ask for an upload URL and play the client's PUT; returns the ticket."""
    meant = blob if announced is None else announced
    ticket = saves.start_upload(
        player_id=PLAYER,
        slot=slot,
        expected_version=expected,
        size=len(meant),
        sha256=_sha(meant),
        config=config,
        repo=repo,
        clock=clock,
    )
    key = next(k for k in repo.presigned if ticket["upload_id"] in k)
    repo.put_object(key, blob, with_checksum=with_checksum)
    return ticket


def commit(
    repo: FakeSavesRepository, config: SavesConfig, clock: Clock, slot: str, upload_id: str, expected: int
) -> Any:
    return saves.commit_upload(
        player_id=PLAYER,
        slot=slot,
        upload_id=upload_id,
        expected_version=expected,
        config=config,
        repo=repo,
        clock=clock,
    )


# -- inline slots -----------------------------------------------------------------------


def test_create_read_update_list_delete(repo, config, clock):
    data = {"level": 3, "inventory": ["sword", "shield"], "gold": 12.5, "name": "Ré"}
    written = put(repo, config, clock, "slot-1", data, 0)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert written == {
        "slot": "slot-1",
        "version": 1,
        "size": len(canonical),
        "checksum": _sha(canonical),
        "updated_at": written["updated_at"],
        "storage": "inline",
    }
    got = get(repo, config, "slot-1")
    assert got["data"] == data and got["version"] == 1 and got["checksum"] == written["checksum"]
    assert put(repo, config, clock, "slot-1", {"level": 4}, 1)["version"] == 2
    put(repo, config, clock, "a0", None, 0)

    listed = saves.list_slots(player_id=PLAYER, config=config, repo=repo, limit=20, cursor=None)
    assert [s["slot"] for s in listed["slots"]] == ["a0", "slot-1"]
    assert listed["slots"][1]["version"] == 2 and "data" not in listed["slots"][1]
    assert listed["max_slots"] == config.max_slots and listed["next_cursor"] is None
    page = saves.list_slots(player_id=PLAYER, config=config, repo=repo, limit=1, cursor=None)
    assert [s["slot"] for s in page["slots"]] == ["a0"] and page["next_cursor"] == "a0"
    rest = saves.list_slots(player_id=PLAYER, config=config, repo=repo, limit=1, cursor="a0")
    assert [s["slot"] for s in rest["slots"]] == ["slot-1"]

    with pytest.raises(Conflict) as stale:
        saves.delete_slot(player_id=PLAYER, slot="slot-1", expected_version=1, repo=repo, clock=clock)
    assert stale.value.details["current_version"] == 2
    deleted = saves.delete_slot(player_id=PLAYER, slot="slot-1", expected_version=2, repo=repo, clock=clock)
    assert deleted == {"slot": "slot-1", "deleted": True, "version": 3}
    with pytest.raises(NotFound):
        get(repo, config, "slot-1")
    with pytest.raises(NotFound):
        saves.delete_slot(player_id=PLAYER, slot="slot-1", expected_version=3, repo=repo, clock=clock)


def test_stale_write_gets_409_with_current_version_and_time(repo, config, clock):
    first = put(repo, config, clock, "main", {"v": 1}, 0)
    clock.now += 60
    second = put(repo, config, clock, "main", {"v": 2}, 1)
    with pytest.raises(Conflict) as stale:
        put(repo, config, clock, "main", {"v": "stale"}, 1)
    assert stale.value.code == "version_conflict" and stale.value.status == 409
    assert stale.value.details == {"slot": "main", "current_version": 2, "updated_at": second["updated_at"]}
    assert second["updated_at"] > first["updated_at"]
    with pytest.raises(Conflict) as again:
        put(repo, config, clock, "main", {"v": "again"}, 0)
    assert again.value.details["current_version"] == 2
    with pytest.raises(Conflict) as missing:
        put(repo, config, clock, "other", 1, 5)
    assert missing.value.details == {"slot": "other", "current_version": 0, "updated_at": None}
    assert get(repo, config, "main")["data"] == {"v": 2}


def test_recreated_slot_continues_its_versions(repo, config, clock):
    """A device holding version 1 of a deleted slot cannot overwrite the re-created one."""
    put(repo, config, clock, "s", "old", 0)
    assert saves.delete_slot(player_id=PLAYER, slot="s", expected_version=1, repo=repo, clock=clock)["version"] == 2
    assert put(repo, config, clock, "s", "new", 0)["version"] == 3
    with pytest.raises(Conflict) as stale:
        put(repo, config, clock, "s", "from old device", 1)
    assert stale.value.details["current_version"] == 3
    assert get(repo, config, "s")["data"] == "new"


def test_slot_cap_refuses_one_more_and_a_deletion_frees_a_place(repo, config, clock):
    capped = dataclasses.replace(config, max_slots=3)
    for i in range(3):
        put(repo, capped, clock, f"s{i}", i, 0)
    with pytest.raises(Conflict) as cap:
        put(repo, capped, clock, "one-more", 1, 0)
    assert cap.value.code == "slot_limit" and cap.value.details == {"slot": "one-more", "max_slots": 3}
    saves.delete_slot(player_id=PLAYER, slot="s0", expected_version=1, repo=repo, clock=clock)
    assert put(repo, capped, clock, "one-more", 1, 0)["version"] == 1


def test_over_the_inline_cap_is_413_pointing_to_s3(repo, config, clock):
    cap = config.max_inline_bytes
    with pytest.raises(TooLarge) as big:
        put(repo, config, clock, "big", "x" * cap, 0)
    assert big.value.status == 413 and big.value.code == "save_too_large"
    assert big.value.details["field"] == "data" and big.value.details["upload"] == "/saves/big/upload"
    assert big.value.details["max_inline_bytes"] == cap and "/saves/big/upload" in big.value.message
    with pytest.raises(NotFound):
        get(repo, config, "big")
    # Just under the cap fits (the quotes count).
    assert put(repo, config, clock, "big", "x" * (cap - 2), 0)["size"] == cap


@pytest.mark.parametrize("data", [float("nan"), float("inf"), {"x": [1.0, float("-inf")]}])
def test_non_finite_numbers_are_refused(repo, config, clock, data):
    with pytest.raises(Invalid) as bad:
        put(repo, config, clock, "ok", data, 0)
    assert bad.value.details == {"field": "data"}
    assert repo.slots == {}


def test_nesting_over_the_cap_is_refused(repo, config, clock):
    def nested(depth: int) -> Any:
        value: Any = 1
        for _ in range(depth):
            value = [value]
        return value

    assert put(repo, config, clock, "deep", nested(saves.MAX_DEPTH), 0)["version"] == 1
    for depth in (saves.MAX_DEPTH + 1, 5000):
        with pytest.raises(Invalid) as bad:
            put(repo, config, clock, "deeper", nested(depth), 0)
        assert bad.value.details == {"field": "data"}
    assert repo.get_slot(PLAYER, "deeper") is None


@pytest.mark.parametrize("slot", ["Bad", "-x", "a" * 33, "a.b", ""])
def test_bad_slot_names_are_refused_before_anything_is_read(repo, config, clock, slot):
    with pytest.raises(Invalid) as bad:
        put(repo, config, clock, slot, 1, 0)
    assert bad.value.details == {"field": "slot"}
    assert repo.slots == {}


# -- large saves through S3 ---------------------------------------------------------------


def test_commit_checks_and_replaces_objects(repo, config, clock):
    blob = bytes(range(256)) * 1024 + b"tail"
    ticket = upload(repo, config, clock, "big", blob, 0)
    assert ticket["method"] == "PUT" and ticket["headers"]["Content-Length"] == str(len(blob))
    with pytest.raises(NotFound):
        get(repo, config, "big")  # not a save until committed
    done = commit(repo, config, clock, "big", ticket["upload_id"], 0)
    assert (done["version"], done["size"], done["checksum"], done["storage"]) == (1, len(blob), _sha(blob), "s3")
    got = get(repo, config, "big")
    assert "data" not in got and got["download_url"].startswith("https://")
    with pytest.raises(NotFound) as again:
        commit(repo, config, clock, "big", ticket["upload_id"], 1)
    assert again.value.code == "upload_not_found"

    # A new version replaces the object; the old one is deleted after the commit.
    blob2 = b"second" * 50_000
    ticket2 = upload(repo, config, clock, "big", blob2, 1)
    assert len(repo.objects) == 2
    assert commit(repo, config, clock, "big", ticket2["upload_id"], 1)["version"] == 2
    assert list(repo.objects) == [k for k in repo.objects if k.endswith("/big/" + ticket2["upload_id"])]
    assert len(repo.objects) == 1

    # Back to inline: the object goes.
    put(repo, config, clock, "big", {"small": True}, 2)
    assert repo.objects == {}
    assert get(repo, config, "big")["data"] == {"small": True}


def test_wrong_checksum_commit_is_refused_and_previous_version_stays(repo, config, clock):
    put(repo, config, clock, "slot", {"good": 1}, 0)
    blob = b"the real bytes" * 1000
    # The object carries no checksum of its own: the commit reads it back and compares.
    ticket = upload(repo, config, clock, "slot", blob, 1, announced=b"other bytes" * 1273 + b"x", with_checksum=False)
    with pytest.raises(Invalid) as refused:
        commit(repo, config, clock, "slot", ticket["upload_id"], 1)
    assert refused.value.code == "checksum_mismatch" and refused.value.details == {"field": "sha256"}
    got = get(repo, config, "slot")
    assert got["version"] == 1 and got["data"] == {"good": 1}
    assert repo.objects == {} and repo.uploads == {}  # the refused upload is gone
    with pytest.raises(NotFound):
        commit(repo, config, clock, "slot", ticket["upload_id"], 1)


def test_checksum_s3_kept_is_compared_without_reading_the_object(repo, config, clock):
    blob = b"abc" * 1000
    ticket = upload(repo, config, clock, "s", blob, 0)
    key = next(iter(repo.objects))
    repo.object_checksums[key] = "AAAA"  # what S3 says it received differs from the announcement
    with pytest.raises(Invalid) as refused:
        commit(repo, config, clock, "s", ticket["upload_id"], 0)
    assert refused.value.code == "checksum_mismatch"


def test_wrong_size_commit_is_refused(repo, config, clock):
    blob = b"abc" * 1000
    ticket = upload(repo, config, clock, "s", blob, 0, announced=blob + b"!")
    with pytest.raises(Invalid) as refused:
        commit(repo, config, clock, "s", ticket["upload_id"], 0)
    assert refused.value.code == "checksum_mismatch" and "bytes" in refused.value.message
    with pytest.raises(NotFound):
        get(repo, config, "s")


def test_upload_checks_version_and_size_first(repo, config, clock):
    put(repo, config, clock, "s", 1, 0)
    with pytest.raises(Conflict) as stale:
        saves.start_upload(
            player_id=PLAYER,
            slot="s",
            expected_version=0,
            size=10,
            sha256="0" * 64,
            config=config,
            repo=repo,
            clock=clock,
        )
    assert stale.value.details["current_version"] == 1
    cap = config.max_object_bytes
    with pytest.raises(TooLarge) as big:
        saves.start_upload(
            player_id=PLAYER,
            slot="s",
            expected_version=1,
            size=cap + 1,
            sha256="0" * 64,
            config=config,
            repo=repo,
            clock=clock,
        )
    assert big.value.details["field"] == "size"
    assert repo.uploads == {} and repo.presigned == {}
    with pytest.raises(NotFound):
        commit(repo, config, clock, "s", "0" * 32, 1)


def test_commit_before_upload_and_stale_commit(repo, config, clock):
    blob = b"z" * 5000
    ticket = saves.start_upload(
        player_id=PLAYER,
        slot="s",
        expected_version=0,
        size=len(blob),
        sha256=_sha(blob),
        config=config,
        repo=repo,
        clock=clock,
    )
    with pytest.raises(Invalid) as early:
        commit(repo, config, clock, "s", ticket["upload_id"], 0)
    assert early.value.code == "upload_missing"
    repo.put_object(next(iter(repo.presigned)), blob)
    # Someone else wrote the slot meanwhile: the commit is a 409, the upload stays committable.
    put(repo, config, clock, "s", "inline meanwhile", 0)
    with pytest.raises(Conflict) as stale:
        commit(repo, config, clock, "s", ticket["upload_id"], 0)
    assert stale.value.details["current_version"] == 1
    assert commit(repo, config, clock, "s", ticket["upload_id"], 1)["version"] == 2


def test_an_upload_expires_after_its_grace_and_belongs_to_its_slot(repo, config, clock):
    blob = b"q" * 100
    ticket = upload(repo, config, clock, "s", blob, 0)
    with pytest.raises(NotFound):
        commit(repo, config, clock, "other", ticket["upload_id"], 0)
    clock.now += config.upload_url_seconds + saves.UPLOAD_GRACE_SECONDS
    with pytest.raises(NotFound):
        commit(repo, config, clock, "s", ticket["upload_id"], 0)
