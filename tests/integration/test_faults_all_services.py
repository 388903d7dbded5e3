"""Throttling injected on each service's main read and write paths (botocore hook, before sending).

Once: botocore's standard retries absorb it and the request takes effect exactly once.
Persistently: a clean 503 with Retry-After, no traceback, and nothing half-written.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.storage import aws
from tests.faults import fast_retries, throttle


def _leaderboard(api: Any, player: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    act = lambda: api.post("/leaderboards/daily_score/scores", {"score": 7}, player=player)  # noqa: E731
    state = lambda: (api.get("/leaderboards/daily_score/me", player=player).json or {}).get("entry")  # noqa: E731
    return act, state


def _stat_feed(api: Any, player: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """A sum stat and the board it feeds: one transaction, so both move or neither."""
    act = lambda: api.post("/players/me/stats", {"updates": {"kills": 3}}, player=player)  # noqa: E731

    def state() -> Any:
        entry = (api.get("/leaderboards/weekly_kills/me", player=player).json or {}).get("entry")
        return api.get("/players/me/stats", player=player).json["stats"]["kills"], (entry or {}).get("score")

    return act, state


def _matchmaking(api: Any, player: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    act = lambda: api.post("/matchmaking/tickets", {"queue": "arena", "region": "eu-west-1"}, player=player)  # noqa: E731

    def state() -> Any:
        # A second create answers 409 only if the first one left a ticket behind.
        resp = api.post("/matchmaking/tickets", {"queue": "arena", "region": "eu-west-1"}, player=player)
        if resp.status == 201:
            api.delete(f"/matchmaking/tickets/{resp.json['ticket_id']}", player=player)
            return "none"
        return resp.status

    return act, state


def _saves(api: Any, player: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    act = lambda: api.put("/saves/slot1", {"data": {"level": 3}, "expected_version": 0}, player=player)  # noqa: E731
    state = lambda: api.get("/saves", player=player).json["slots"]  # noqa: E731
    return act, state


def _stats(api: Any, player: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    act = lambda: api.post("/players/me/stats", {"updates": {"deaths": 2}}, player=player)  # noqa: E731
    state = lambda: api.get("/players/me/stats", player=player).json["stats"]["deaths"]  # noqa: E731
    return act, state


CASES = {
    "leaderboards": (_leaderboard, ("TransactWriteItems",)),
    "matchmaking": (_matchmaking, ("TransactWriteItems",)),
    "saves": (_saves, ("TransactWriteItems", "UpdateItem", "PutItem")),
    "stats": (_stats, ("UpdateItem",)),
    "stat_feed": (_stat_feed, ("TransactWriteItems",)),
}


@pytest.mark.parametrize("service", sorted(CASES))
def test_throttled_once_takes_effect_once(api, new_player, service):
    make, operations = CASES[service]
    player = new_player()
    act, state = make(api, player)
    before = state()
    with fast_retries(), throttle(aws.dynamodb(), *operations, times=1) as hook:
        resp = act()
    assert hook.injected == 1, service
    assert 200 <= resp.status < 300, (service, resp.status, resp.body)
    assert state() != before, service


@pytest.mark.parametrize("service", sorted(CASES))
def test_persistent_throttling_is_a_clean_503_and_writes_nothing(api, new_player, service):
    make, operations = CASES[service]
    player = new_player()
    act, state = make(api, player)
    before = state()
    with fast_retries(), throttle(aws.dynamodb(), *operations, times=None):
        resp = act()
    assert resp.status == 503, (service, resp.status, resp.body)
    assert int(resp.headers["Retry-After"]) >= 1
    assert b"Traceback" not in resp.body
    assert state() == before, service


def _event_batch() -> dict[str, Any]:
    return {"events": [{"event_id": str(uuid.uuid4()), "type": "level_start", "timestamp": time.time(), "data": {}}]}


def test_events_throttled_once_are_stored_once(api, new_player):
    player, body = new_player(), _event_batch()
    with fast_retries(), throttle(aws.dynamodb(), "TransactWriteItems", times=1) as hook:
        resp = api.post("/events", body, player=player)
    assert hook.injected == 1
    assert resp.status == 202 and resp.json["accepted"] == 1
    assert api.post("/events", body, player=player).json["duplicates"] == 1


def test_events_under_persistent_throttling_are_reported_per_event_and_not_stored(api, new_player):
    """Events answer per event (issue 7): each unstored one is `unavailable`; a resend stores it."""
    player, body = new_player(), _event_batch()
    with fast_retries(), throttle(aws.dynamodb(), "TransactWriteItems", times=None):
        resp = api.post("/events", body, player=player)
    assert resp.status == 202
    assert resp.json["accepted"] == 0
    assert [r["code"] for r in resp.json["rejected"]] == ["unavailable"]
    again = api.post("/events", body, player=player).json
    assert again["accepted"] == 1 and again["duplicates"] == 0


READS = {
    "players": ("/players/me", ("GetItem",)),
    "leaderboards": ("/leaderboards/global?limit=5", ("Query", "BatchGetItem")),
    "achievements": ("/achievements", ("BatchGetItem", "Query", "GetItem")),
    "notifications": ("/notifications?limit=5", ("Query", "GetItem", "BatchGetItem")),
    "saves": ("/saves", ("Query",)),
}


@pytest.mark.parametrize("service", sorted(READS))
def test_read_throttled_once_still_answers(api, new_player, service):
    path, operations = READS[service]
    player = new_player()
    expected = api.get(path, player=player).json
    with fast_retries(), throttle(aws.dynamodb(), *operations, times=1) as hook:
        resp = api.get(path, player=player)
    assert hook.injected == 1, service
    assert resp.status == 200, (service, resp.body)
    assert resp.json.keys() == expected.keys()


@pytest.mark.parametrize("service", sorted(READS))
def test_read_throttled_persistently_is_a_clean_503(api, new_player, service):
    path, operations = READS[service]
    player = new_player()
    with fast_retries(), throttle(aws.dynamodb(), *operations, times=None):
        resp = api.get(path, player=player)
    assert resp.status == 503, (service, resp.status, resp.body)
    assert int(resp.headers["Retry-After"]) >= 1
    assert b"Traceback" not in resp.body
