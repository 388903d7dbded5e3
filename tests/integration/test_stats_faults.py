"""Throttling on the stats path: once is absorbed exactly once; persistent is a clean 503.

`deaths` feeds no board, so its update is one UpdateItem (a fed stat's transaction is
covered in test_faults_all_services)."""

from __future__ import annotations

from chalicelib.storage import aws
from tests.faults import fast_retries, throttle


def test_one_throttle_is_retried_and_applied_once(api, new_player):
    player = new_player()
    with fast_retries(), throttle(aws.dynamodb(), "UpdateItem", times=1) as hook:
        resp = api.post("/players/me/stats", {"updates": {"deaths": 1}}, player=player)
    assert hook.injected == 1
    assert resp.status == 200, resp.body
    assert api.get("/players/me/stats", player=player).json["stats"]["deaths"] == 1


def test_persistent_throttle_is_503_with_retry_after_and_writes_nothing(api, new_player):
    player = new_player()
    with fast_retries(), throttle(aws.dynamodb(), "UpdateItem", times=None) as hook:
        resp = api.post("/players/me/stats", {"updates": {"deaths": 1, "level": 5}}, player=player)
    assert hook.injected >= 2
    assert resp.status == 503
    assert resp.json["code"] == "throttled"
    assert int(resp.headers["Retry-After"]) >= 1
    assert b"Traceback" not in resp.body
    stats = api.get("/players/me/stats", player=player).json["stats"]
    assert stats["deaths"] == 0 and stats["level"] == 1


def test_persistent_read_throttle_is_503(api, new_player):
    player = new_player()
    with fast_retries(), throttle(aws.dynamodb(), "GetItem", times=None):
        resp = api.get("/players/me/stats", player=player)
    assert resp.status == 503
    assert "Retry-After" in resp.headers
