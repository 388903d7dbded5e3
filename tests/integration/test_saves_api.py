"""Cloud saves through the routes and the service on the stand-in, S3 included."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from typing import Any

import pytest
import requests

from chalicelib.game_config import get_game_config
from chalicelib.services import saves
from chalicelib.storage import aws
from chalicelib.storage.saves import SavesRepository, object_prefix


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _objects(player_id: str) -> list[str]:
    repo = SavesRepository()
    resp = aws.s3().list_objects_v2(Bucket=repo.bucket, Prefix=object_prefix(player_id))
    return [o["Key"] for o in resp.get("Contents", [])]


def _upload(api: Any, player: Any, slot: str, blob: bytes, expected: int, sha: str | None = None) -> dict[str, Any]:
    """Ask for a URL, PUT the bytes to it with a plain HTTP client; returns the ticket."""
    resp = api.post(
        f"/saves/{slot}/upload",
        {"expected_version": expected, "size": len(blob), "sha256": sha or _sha(blob)},
        player=player,
    )
    assert resp.status == 201, resp.body
    ticket = resp.json
    put = requests.put(ticket["url"], data=blob, headers=ticket["headers"], timeout=300)
    assert put.status_code == 200, put.text
    return ticket


# -- inline slots -----------------------------------------------------------------------


def test_create_read_update_list_delete(api, new_player):
    player = new_player()
    data = {"level": 3, "inventory": ["sword", "shield"], "gold": 12.5, "name": "Ré"}
    resp = api.put("/saves/slot-1", {"data": data, "expected_version": 0}, player=player)
    assert resp.status == 200, resp.body
    written = resp.json
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert written["version"] == 1 and written["storage"] == "inline"
    assert written["size"] == len(canonical) and written["checksum"] == _sha(canonical)

    got = api.get("/saves/slot-1", player=player).json
    assert got["data"] == data and got["version"] == 1 and got["checksum"] == written["checksum"]

    resp = api.put("/saves/slot-1", {"data": {"level": 4}, "expected_version": 1}, player=player)
    assert resp.status == 200 and resp.json["version"] == 2
    api.put("/saves/a0", {"data": None, "expected_version": 0}, player=player)

    listed = api.get("/saves", player=player).json
    assert [s["slot"] for s in listed["slots"]] == ["a0", "slot-1"]
    assert listed["slots"][1]["version"] == 2 and "data" not in listed["slots"][1]
    assert listed["max_slots"] == get_game_config().saves.max_slots

    page = api.get("/saves?limit=1", player=player).json
    assert [s["slot"] for s in page["slots"]] == ["a0"] and page["next_cursor"] == "a0"
    rest = api.get(f"/saves?limit=1&cursor={page['next_cursor']}", player=player).json
    assert [s["slot"] for s in rest["slots"]] == ["slot-1"]

    stale = api.delete("/saves/slot-1?expected_version=1", player=player)
    assert stale.status == 409 and stale.json["details"]["current_version"] == 2
    resp = api.delete("/saves/slot-1?expected_version=2", player=player)
    assert resp.status == 200, resp.body
    assert api.get("/saves/slot-1", player=player).status == 404
    assert api.delete("/saves/slot-1?expected_version=3", player=player).status == 404


def test_concurrent_writes_on_one_version_one_wins_whole(standin, new_player):
    """Threads write different whole saves at the same version: one success, others 409."""
    player = new_player()
    config = get_game_config().saves
    repo = SavesRepository()
    saves.put_slot(
        player_id=player.player_id, slot="race", data={"seed": 0}, expected_version=0, config=config, repo=repo
    )
    payloads = [{"writer": i, "blob": [i] * 500, "text": f"w{i}" * 100} for i in range(8)]
    results: list[Any] = [None] * len(payloads)
    barrier = threading.Barrier(len(payloads))

    def write(i: int) -> None:
        barrier.wait()
        try:
            results[i] = saves.put_slot(
                player_id=player.player_id, slot="race", data=payloads[i], expected_version=1, config=config, repo=repo
            )
        except Exception as exc:  # collected and asserted below
            results[i] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, r in enumerate(results) if isinstance(r, dict)]
    assert len(winners) == 1, results
    losers = [r for r in results if not isinstance(r, dict)]
    assert all(getattr(r, "status", None) == 409 and r.details["current_version"] == 2 for r in losers), losers
    stored = saves.get_slot(player_id=player.player_id, slot="race", config=config, repo=repo)
    assert stored["version"] == 2 and stored["data"] == payloads[winners[0]]


def test_concurrent_creations_respect_the_slot_cap(standin, new_player):
    player = new_player()
    config = dataclasses.replace(get_game_config().saves, max_slots=3)
    repo = SavesRepository()
    barrier = threading.Barrier(8)
    outcomes: list[Any] = [None] * 8

    def create(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = saves.put_slot(
                player_id=player.player_id, slot=f"s{i}", data=i, expected_version=0, config=config, repo=repo
            )
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if not isinstance(o, dict)]
    assert len(created) == 3
    assert all(getattr(o, "code", None) == "slot_limit" for o in refused), refused
    listed = saves.list_slots(player_id=player.player_id, config=config, repo=repo, limit=20, cursor=None)
    assert len(listed["slots"]) == 3
    # Deleting one frees a place.
    slot = created[0]["slot"]
    saves.delete_slot(player_id=player.player_id, slot=slot, expected_version=1, repo=repo)
    saves.put_slot(player_id=player.player_id, slot="again", data=1, expected_version=0, config=config, repo=repo)


def test_slot_cap_through_the_route(api, new_player):
    player = new_player()
    cap = get_game_config().saves.max_slots
    for i in range(cap):
        assert api.put(f"/saves/s{i}", {"data": i, "expected_version": 0}, player=player).status == 200
    resp = api.put("/saves/one-more", {"data": 1, "expected_version": 0}, player=player)
    assert resp.status == 409 and resp.json["code"] == "slot_limit"
    assert resp.json["details"]["max_slots"] == cap


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/saves/Bad", {"data": 1, "expected_version": 0}, "slot"),
        ("/saves/-x", {"data": 1, "expected_version": 0}, "slot"),
        ("/saves/" + "a" * 33, {"data": 1, "expected_version": 0}, "slot"),
        ("/saves/a.b", {"data": 1, "expected_version": 0}, "slot"),
        ("/saves/ok", {"expected_version": 0}, "data"),
        ("/saves/ok", {"data": 1}, "expected_version"),
        ("/saves/ok", {"data": 1, "expected_version": -1}, "expected_version"),
        ("/saves/ok", {"data": 1, "expected_version": "1"}, "expected_version"),
        ("/saves/ok", {"data": 1, "expected_version": 1.5}, "expected_version"),
        ("/saves/ok", {"data": 1, "expected_version": 0, "extra": 1}, "extra"),
    ],
)
def test_bad_writes_are_400_naming_the_field_and_write_nothing(api, new_player, path, body, field):
    player = new_player()
    resp = api.put(path, body, player=player)
    assert resp.status == 400, resp.body
    assert resp.json["details"]["field"] == field
    assert api.get("/saves", player=player).json["slots"] == []


def test_non_finite_and_deep_data_are_400(api, new_player):
    player = new_player()
    resp = api.put("/saves/ok", raw='{"data": NaN, "expected_version": 0}', player=player)
    assert resp.status == 400
    ok = '{"data": ' + "[" * 64 + "]" * 64 + ', "expected_version": 0}'
    assert api.put("/saves/deep", raw=ok, player=player).status == 200
    api.delete("/saves/deep?expected_version=1", player=player)
    for depth in (65, 900, 5000):  # over the cap, deep enough to break json.dumps, or json.loads
        raw = '{"data": ' + "[" * depth + "1" + "]" * depth + ', "expected_version": 0}'
        resp = api.put("/saves/ok", raw=raw, player=player)
        assert resp.status == 400, (depth, resp.body)
    assert api.get("/saves", player=player).json["slots"] == []


@pytest.mark.parametrize("query", ["", "?expected_version=x", "?expected_version=-1", "?expected_version=1&other=2"])
def test_bad_delete_is_400(api, new_player, query):
    player = new_player()
    api.put("/saves/keep", {"data": 1, "expected_version": 0}, player=player)
    resp = api.delete(f"/saves/keep{query}", player=player)
    assert resp.status == 400, resp.body
    assert api.get("/saves/keep", player=player).status == 200


@pytest.mark.parametrize("query", ["?limit=0", "?limit=101", "?limit=x", "?cursor=BAD"])
def test_bad_list_query_is_400(api, new_player, query):
    assert api.get(f"/saves{query}", player=new_player()).status == 400


def test_another_players_slot_is_unreachable(api, new_player):
    owner, other = new_player(), new_player()
    api.put("/saves/main", {"data": {"secret": 1}, "expected_version": 0}, player=owner)
    assert api.get("/saves/main", player=other).status == 404
    assert api.get("/saves", player=other).json["slots"] == []
    # Writing the same slot name creates the other player's own slot; the owner's is untouched.
    assert api.put("/saves/main", {"data": "mine", "expected_version": 0}, player=other).status == 200
    assert api.put("/saves/main", {"data": "x", "expected_version": 1}, player=other).json["version"] == 2
    assert api.delete("/saves/main?expected_version=2", player=other).status == 200
    mine = api.get("/saves/main", player=owner).json
    assert mine["data"] == {"secret": 1} and mine["version"] == 1
    # Identity is the token's: no request field can name another player.
    seed = api.post(
        "/user-progress",
        {"playerId": owner.player_id, "payload": {"action": "load", "slot": "main", "playerId": owner.player_id}},
        player=other,
    )
    assert seed.status == 404
    assert api.get("/saves", headers={}).status == 401


# -- large saves through S3 ---------------------------------------------------------------


def test_large_save_round_trips_through_presigned_urls(api, new_player):
    player = new_player()
    blob = bytes(range(256)) * 1024 + b"tail"  # 256 KiB + 4: over the inline cap
    ticket = _upload(api, player, "big", blob, expected=0)
    assert ticket["upload_id"] in ticket["url"] and player.player_id in ticket["url"]
    assert api.get("/saves/big", player=player).status == 404  # not a save until committed

    resp = api.post("/saves/big/commit", {"upload_id": ticket["upload_id"], "expected_version": 0}, player=player)
    assert resp.status == 200, resp.body
    assert resp.json == {**resp.json, "version": 1, "size": len(blob), "checksum": _sha(blob), "storage": "s3"}

    got = api.get("/saves/big", player=player).json
    assert got["storage"] == "s3" and got["data"] is None and got["checksum"] == _sha(blob)
    download = requests.get(got["download_url"], timeout=300)
    assert download.status_code == 200 and download.content == blob
    again = api.post("/saves/big/commit", {"upload_id": ticket["upload_id"], "expected_version": 1}, player=player)
    assert again.status == 404 and again.json["code"] == "upload_not_found"

    # A new version replaces the object; the old one is deleted after the commit.
    blob2 = b"second" * 50_000
    ticket2 = _upload(api, player, "big", blob2, expected=1)
    first_key = [k for k in _objects(player.player_id) if ticket["upload_id"] in k]
    assert len(first_key) == 1 and len(_objects(player.player_id)) == 2
    resp = api.post("/saves/big/commit", {"upload_id": ticket2["upload_id"], "expected_version": 1}, player=player)
    assert resp.status == 200 and resp.json["version"] == 2
    remaining = _objects(player.player_id)
    assert len(remaining) == 1 and remaining[0].endswith("/big/" + ticket2["upload_id"])
    assert requests.get(api.get("/saves/big", player=player).json["download_url"], timeout=300).content == blob2

    # Back to inline: the object goes; the listing shows the inline slot.
    assert api.put("/saves/big", {"data": {"small": True}, "expected_version": 2}, player=player).status == 200
    assert _objects(player.player_id) == []
    assert api.get("/saves/big", player=player).json["data"] == {"small": True}


def test_wrong_checksum_commit_is_refused_and_previous_version_stays(api, new_player):
    player = new_player()
    api.put("/saves/slot", {"data": {"good": 1}, "expected_version": 0}, player=player)
    blob = b"the real bytes" * 1000
    ticket = _upload(api, player, "slot", blob, expected=1, sha=_sha(b"other bytes"))
    resp = api.post("/saves/slot/commit", {"upload_id": ticket["upload_id"], "expected_version": 1}, player=player)
    assert resp.status == 400 and resp.json["code"] == "checksum_mismatch"
    assert resp.json["details"]["field"] == "sha256"
    got = api.get("/saves/slot", player=player).json
    assert got["version"] == 1 and got["data"] == {"good": 1}
    assert _objects(player.player_id) == []  # the refused upload is gone
    retry = api.post("/saves/slot/commit", {"upload_id": ticket["upload_id"], "expected_version": 1}, player=player)
    assert retry.status == 404


def test_bad_upload_and_commit_requests_are_400_naming_the_field(api, new_player):
    """The rules (stale version, size cap) are in tests/unit/test_saves_rules.py."""
    player = new_player()
    api.put("/saves/s", {"data": 1, "expected_version": 0}, player=player)
    cap = get_game_config().saves.max_object_bytes
    big = api.post("/saves/s/upload", {"expected_version": 1, "size": cap + 1, "sha256": "0" * 64}, player=player)
    assert big.status == 413 and big.json["details"]["field"] == "size"
    for body, field in [
        ({"expected_version": 1, "size": 0, "sha256": "0" * 64}, "size"),
        ({"expected_version": 1, "size": 10, "sha256": "XYZ"}, "sha256"),
        ({"expected_version": 1, "size": 10}, "sha256"),
    ]:
        resp = api.post("/saves/s/upload", body, player=player)
        assert resp.status == 400 and resp.json["details"]["field"] == field
    missing = api.post("/saves/s/commit", {"upload_id": "0" * 32, "expected_version": 1}, player=player)
    assert missing.status == 404
    bad = api.post("/saves/s/commit", {"upload_id": "not-hex", "expected_version": 1}, player=player)
    assert bad.status == 400 and bad.json["details"]["field"] == "upload_id"


def test_another_player_cannot_commit_or_read_an_upload(api, new_player):
    owner, other = new_player(), new_player()
    blob = b"mine" * 2000
    ticket = _upload(api, owner, "s", blob, expected=0)
    resp = api.post("/saves/s/commit", {"upload_id": ticket["upload_id"], "expected_version": 0}, player=other)
    assert resp.status == 404
    assert api.get("/saves/s", player=other).status == 404
    assert (
        api.post("/saves/s/commit", {"upload_id": ticket["upload_id"], "expected_version": 0}, player=owner).status
        == 200
    )


# -- seed adapter and erasure -----------------------------------------------------------------


def test_seed_user_progress(api, new_player):
    player = new_player()

    def seed(payload: dict[str, Any]) -> Any:
        return api.post(
            "/user-progress",
            {"functionName": "user-progress", "playerId": "ignored", "payload": payload, "timestamp": 1},
            player=player,
        )

    saved = seed({"slot": "progress", "data": {"level": 2}, "expected_version": 0})
    assert saved.status == 200, saved.body
    assert saved.json["message"] == "Progress saved" and saved.json["version"] == 1
    assert saved.json["player_id"] == player.player_id
    loaded = seed({"action": "load", "slot": "progress"}).json
    assert loaded["data"] == {"level": 2} and loaded["version"] == 1
    stale = seed({"action": "save", "slot": "progress", "data": {"level": 1}, "expected_version": 0})
    assert stale.status == 409 and stale.json["error"] and stale.json["details"]["current_version"] == 1
    assert seed({"data": {"level": 9}, "expected_version": 0}).json["slot"] == "default"
    assert [s["slot"] for s in seed({}).json["slots"]] == ["default", "progress"]
    assert seed({"action": "delete", "slot": "progress", "expected_version": 1}).json["deleted"] is True
    for payload, field in [
        ({"action": "save", "slot": "x", "data": 1}, "payload.expected_version"),
        ({"action": "save", "slot": "x", "expected_version": 0}, "payload.data"),
        ({"action": "jump"}, "payload.action"),
        ({"action": "load", "slot": "BAD"}, "payload.slot"),
        ({"action": "load", "unknown": 1}, "payload.unknown"),
    ]:
        resp = seed(payload)
        assert resp.status == 400, (payload, resp.body)
        assert resp.json["details"]["field"] == field and resp.json["error"]
    assert seed({"action": "load", "slot": "nothing"}).status == 404


def test_account_deletion_erases_saves_and_objects(api, new_player):
    player, bystander = new_player(), new_player()
    api.put("/saves/a", {"data": 1, "expected_version": 0}, player=player)
    api.put("/saves/gone", {"data": 1, "expected_version": 0}, player=player)
    api.delete("/saves/gone?expected_version=1", player=player)
    blob = b"big" * 30_000
    ticket = _upload(api, player, "b", blob, expected=0)
    api.post("/saves/b/commit", {"upload_id": ticket["upload_id"], "expected_version": 0}, player=player)
    _upload(api, player, "c", blob, expected=0)  # pending, never committed
    api.put("/saves/a", {"data": "theirs", "expected_version": 0}, player=bystander)
    assert len(_objects(player.player_id)) == 2

    resp = api.delete("/players/me", player=player)
    assert resp.status == 200, resp.body
    # 2 objects + slots a, b, the deleted marker, the count and the pending upload.
    assert resp.json["erased"]["saves"] == 7
    assert _objects(player.player_id) == []
    repo = SavesRepository()
    assert repo.list_slots(player.player_id, after=None, limit=100) == ([], None)
    assert (
        repo.client.query(
            TableName=repo.table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"P#{player.player_id}"}},
        )["Items"]
        == []
    )
    assert api.get("/saves/a", player=bystander).json["data"] == "theirs"
