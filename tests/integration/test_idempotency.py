"""Idempotency-Key: same key and request, same answer once applied; another request, 409."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from chalicelib.api.http import ROUTES
from chalicelib.config import get_settings
from chalicelib.storage import aws
from tests.faults import fast_retries, throttle


def key() -> str:
    return str(uuid.uuid4())


def with_key(k: str) -> dict[str, str]:
    return {"Idempotency-Key": k}


def kills(api: Any, player: Any) -> int:
    return int(api.get("/players/me/stats", player=player).json["stats"]["kills"])


def test_a_resent_stat_update_is_applied_once_and_answered_the_same(api, new_player):
    player, k = new_player(), key()
    first = api.post("/players/me/stats", {"updates": {"kills": 2}}, player=player, headers=with_key(k))
    again = api.post("/players/me/stats", {"updates": {"kills": 2}}, player=player, headers=with_key(k))
    assert first.status == again.status == 200
    assert first.json == again.json
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert kills(api, player) == 2
    # Without a key, or with another key, it is a new update.
    assert (
        api.post("/players/me/stats", {"updates": {"kills": 2}}, player=player, headers=with_key(key())).status == 200
    )
    assert kills(api, player) == 4


def test_the_same_key_with_another_request_is_409_and_writes_nothing(api, new_player):
    player, k = new_player(), key()
    assert api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player, headers=with_key(k)).status == 200
    for method, path, body in [
        ("POST", "/players/me/stats", {"updates": {"kills": 5}}),
        ("PUT", "/saves/slot1", {"data": {"a": 1}, "expected_version": 0}),
    ]:
        resp = api.call(method, path, body, player=player, headers=with_key(k))
        assert resp.status == 409, (path, resp.body)
        assert resp.json["code"] == "idempotency_key_reused"
    assert kills(api, player) == 1
    assert api.get("/saves", player=player).json["slots"] == []


def test_keys_belong_to_their_player(api, new_player):
    a, b, k = new_player(), new_player(), key()
    assert api.post("/players/me/stats", {"updates": {"kills": 1}}, player=a, headers=with_key(k)).status == 200
    resp = api.post("/players/me/stats", {"updates": {"kills": 3}}, player=b, headers=with_key(k))
    assert resp.status == 200 and "Idempotent-Replayed" not in resp.headers
    assert kills(api, a) == 1 and kills(api, b) == 3


@pytest.mark.parametrize("bad", ["short", "x" * 129, "has space key", "ключ-ключ-ключ"])
def test_a_malformed_key_is_400_and_writes_nothing(api, new_player, bad):
    player = new_player()
    resp = api.call(
        "POST",
        "/players/me/stats",
        {"updates": {"kills": 1}},
        player=player,
        headers={"Idempotency-Key": bad.encode().decode("latin-1")},
    )
    assert resp.status == 400, resp.body
    assert resp.json["details"]["field"] == "Idempotency-Key"
    assert kills(api, player) == 0


def test_an_error_answer_is_not_kept_so_its_retry_runs_again(api, new_player):
    player, k = new_player(), key()
    with fast_retries(), throttle(aws.dynamodb(), "TransactWriteItems", times=None):
        failed = api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player, headers=with_key(k))
    assert failed.status == 503
    retried = api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player, headers=with_key(k))
    assert retried.status == 200 and "Idempotent-Replayed" not in retried.headers
    assert kills(api, player) == 1


def test_records_are_kept_at_least_24_hours(api, new_player):
    player, k = new_player(), key()
    before = time.time()
    assert api.post("/players/me/stats", {"updates": {"deaths": 1}}, player=player, headers=with_key(k)).status == 200
    client = aws.dynamodb()
    table = get_settings().table_name("idempotency")
    items = [
        i
        for i in client.scan(TableName=table)["Items"]
        if i["id"]["S"].startswith("game-backend#") and i.get("status", {}).get("S") == "COMPLETED"
    ]
    assert items
    newest = max(int(i["expiration"]["N"]) for i in items)
    assert newest >= before + 24 * 3600


def test_concurrent_sends_with_one_key_apply_once(api, new_player):
    player, k = new_player(), key()
    barrier = threading.Barrier(5)
    answers: list[Any] = []

    def send() -> None:
        barrier.wait()
        answers.append(api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player, headers=with_key(k)))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a.status == 200 or (a.status == 409 and a.json["code"] == "idempotency_in_progress") for a in answers)
    assert any(a.status == 200 for a in answers)
    assert kills(api, player) == 1


def test_every_declared_write_route_replays(api, admin, new_player):
    player = new_player()
    cases = [
        ("POST", "/leaderboards/daily_score/scores", {"score": 10}, player),
        ("POST", "/matchmaking/tickets", {"queue": "arena", "region": "eu-west-1"}, player),
        ("PUT", "/saves/slot1", {"data": {"level": 1}, "expected_version": 0}, player),
        ("POST", "/achievements/explorer/progress", {"steps": 1}, player),
        ("POST", f"/admin/players/{player.player_id}/stats", {"updates": {"rating": 1300}}, admin),
        ("POST", "/admin/achievements/founder/grant", {"player_id": player.player_id}, admin),
        ("POST", "/admin/notifications", {"player_id": player.player_id, "title": "Hello"}, admin),
        ("POST", "/player-stats", {"payload": {"kills": 1}}, player),
    ]
    for method, path, body, caller in cases:
        k = key()
        first = api.call(method, path, body, player=caller, headers=with_key(k))
        again = api.call(method, path, body, player=caller, headers=with_key(k))
        assert 200 <= first.status < 300, (path, first.body)
        assert (again.status, again.json) == (first.status, first.json), path
        assert again.headers.get("Idempotent-Replayed") == "true", path
    listing = api.get("/achievements", player=player).json["achievements"]
    assert next(a for a in listing if a["id"] == "explorer")["progress"] == 1
    inbox = api.get("/notifications", player=player).json["notifications"]
    assert [n["title"] for n in inbox].count("Hello") == 1
    assert kills(api, player) == 1
    assert api.get("/saves/slot1", player=player).json["version"] == 1


def test_openapi_documents_the_header_on_each_write(api):
    doc = api.get("/openapi.json").json
    idempotent = {(d.method, d.path) for d in ROUTES if d.idempotent}
    assert ("POST", "/players/me/stats") in idempotent and len(idempotent) >= 10
    for method, path in idempotent:
        operation = doc["paths"][path][method.lower()]
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert names == ["Idempotency-Key"], (method, path)
        assert "409" in operation["responses"]
