"""POST /events, the seed adapters and injected store faults, on the stand-in."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

from chalicelib.game_config import get_game_config
from chalicelib.services import events as events_service
from chalicelib.storage import aws
from chalicelib.storage.events import EventsRepository
from tests.integration.events_helpers import day_row, fresh_day, make_event, stored_events, stream_records


def _inserts(player_id: str) -> Counter[str]:
    return Counter(r["dynamodb"]["Keys"]["SK"]["S"] for r in stream_records({player_id}) if r["eventName"] == "INSERT")


def test_batch_sent_three_times_in_a_row_is_stored_once(api, new_player):
    player = new_player()
    batch = [make_event("level_start"), make_event("level_complete"), make_event("purchase", data={"sku": "gem"})]
    first = api.post("/events", {"events": batch}, player=player)
    assert first.status == 202, first.body
    assert first.json == {"accepted": 3, "duplicates": 0, "rejected": []}
    for _ in range(2):
        again = api.post("/events", {"events": batch}, player=player)
        assert again.status == 202
        assert again.json == {"accepted": 0, "duplicates": 3, "rejected": []}
    items = stored_events(player.player_id)
    assert sorted(i["event_id"]["S"] for i in items) == sorted(e["event_id"] for e in batch)
    assert all(n == 1 for n in _inserts(player.player_id).values()) and len(_inserts(player.player_id)) == 3


def _ingest_at(player_id: str, batch: list[dict[str, Any]], now: float) -> dict[str, Any]:
    return events_service.ingest(
        player_id=player_id, events=batch, config=get_game_config().events, repo=EventsRepository(), clock=lambda: now
    )


def test_batch_sent_three_times_concurrently_is_accepted_once_in_total(standin, new_player):
    player = new_player()
    now = fresh_day()
    batch = [make_event(("session_start", "level_start")[i % 2], ts=now - 5) for i in range(10)]
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(3)

    def send() -> None:
        barrier.wait()
        results.append(_ingest_at(player.player_id, batch, now))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(r["rejected"] == [] for r in results)
    assert sum(r["accepted"] for r in results) == 10
    assert sum(r["duplicates"] for r in results) == 20
    assert all(r["accepted"] + r["duplicates"] == 10 for r in results)
    assert len(stored_events(player.player_id)) == 10
    inserts = _inserts(player.player_id)
    assert len(inserts) == 10 and set(inserts.values()) == {1}
    row = day_row(now)
    assert (row["events"], row["sessions"], row["active_players"], row["new_players"]) == (10, 5, 1, 1)


def test_overlapping_batches_from_many_threads_count_each_event_once(standin, new_player):
    """Several players, each sending overlapping parts of its events from 4 threads at once:
    every distinct event is accepted by exactly one request and counted once."""
    now = fresh_day()
    players = [new_player().player_id for _ in range(3)]
    sent = {
        p: [make_event(("session_start", "purchase", "ui_click")[i % 3], ts=now - 5) for i in range(12)]
        for p in players
    }
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(4 * len(players))

    def send(player: str, part: list[dict[str, Any]]) -> None:
        barrier.wait()
        results.append(_ingest_at(player, part, now))

    threads = [
        threading.Thread(target=send, args=(p, part))
        for p, batch in sent.items()
        for part in (batch[:10], batch[2:], batch[::2], batch[1::2] + batch[:3])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["accepted"] for r in results) == 12 * len(players)
    assert sum(r["accepted"] + r["duplicates"] for r in results) == (10 + 10 + 6 + 9) * len(players)
    row = day_row(now)
    assert row["events"] == 12 * len(players)
    assert row["events_by_type"] == {
        "purchase": 4 * len(players),
        "session_start": 4 * len(players),
        "ui_click": 4 * len(players),
    }
    assert (row["active_players"], row["new_players"], row["sessions"]) == (
        len(players),
        len(players),
        4 * len(players),
    )


def test_invalid_events_are_named_by_index_and_the_valid_ones_kept(api, new_player):
    player = new_player()
    now = time.time()
    good = [make_event("session_start"), make_event("level_9"), make_event("ui_click")]
    batch = [
        good[0],
        make_event("teleport"),  # 1: undeclared type
        good[1],
        make_event(ts=now - 8 * 86400),  # 3: older than 7 days
        make_event(ts=now + 3600),  # 4: in the future
        make_event(data={"blob": "x" * 5000}),  # 5: data over 4096 bytes
        make_event(data={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}),  # 6: deeper than 5
        {"type": "level_start", "timestamp": now},  # 7: no event_id
        make_event(extra_field=1),  # 8: unknown field
        make_event(timestamp="yesterday"),  # 9: not a number
        good[2],
        "not an object",  # 11
        make_event(event_id="bad id with spaces"),  # 12
        make_event(data=[1, 2]),  # 13: data is not an object
    ]
    resp = api.post("/events", {"events": batch}, player=player)
    assert resp.status == 202, resp.body
    assert resp.json["accepted"] == 3 and resp.json["duplicates"] == 0
    codes = {r["index"]: r["code"] for r in resp.json["rejected"]}
    assert codes == {
        1: "unknown_type",
        3: "too_old",
        4: "in_future",
        5: "too_large",
        6: "too_deep",
        7: "invalid",
        8: "invalid",
        9: "invalid",
        11: "invalid",
        12: "invalid",
        13: "invalid",
    }
    messages = {r["index"]: r["message"] for r in resp.json["rejected"]}
    assert messages[7].startswith("events.7.event_id") and messages[8].startswith("events.8.extra_field")
    assert sorted(i["event_id"]["S"] for i in stored_events(player.player_id)) == sorted(e["event_id"] for e in good)


def test_oversized_or_malformed_batches_are_refused_and_write_nothing(api, new_player):
    player = new_player()
    too_many = api.post("/events", {"events": [make_event() for _ in range(26)]}, player=player)
    assert too_many.status == 413 and too_many.json["code"] == "too_large"
    huge = api.post("/events", {"events": [make_event(data={"x": "y" * 300_000})]}, player=player)
    assert huge.status == 413
    for body, field in (
        ({"events": []}, "events"),
        ({"events": "x"}, "events"),
        ({}, "events"),
        ({"events": [], "x": 1}, "x"),
    ):
        resp = api.post("/events", body, player=player)
        assert resp.status == 400, (body, resp.body)
        assert resp.json["details"]["field"] == field
    assert api.post("/events", raw='{"events": [NaN]}', player=player).status == 400
    assert stored_events(player.player_id) == []


def test_events_need_a_token_and_are_keyed_by_it(api, new_player):
    alice, bob = new_player(), new_player()
    assert api.post("/events", {"events": [make_event()]}).status == 401
    shared = make_event()
    assert api.post("/events", {"events": [shared]}, player=alice).json["accepted"] == 1
    # The same event id from another player is that player's own event, not a duplicate.
    assert api.post("/events", {"events": [shared]}, player=bob).json["accepted"] == 1
    assert len(stored_events(alice.player_id)) == 1 and len(stored_events(bob.player_id)) == 1


class _Faults:
    """Botocore hooks on the app's DynamoDB client: answer some TransactWriteItems calls
    with throttling or a transaction conflict, as DynamoDB does under load."""

    def __init__(self, plan: list[str]) -> None:
        self.plan = list(plan)  # per call: "throttle" | "conflict" | "ok"
        self.calls = 0

    def before(self, params: dict[str, Any], **_: Any) -> Any:
        self.calls += 1
        step = self.plan.pop(0) if self.plan else "ok"
        if step == "throttle":
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}}
            return _HttpResponse(400), error
        if step == "conflict":
            body = json.loads(params["body"])
            reasons = [{"Code": "None"}] * (len(body["TransactItems"]) - 1) + [{"Code": "TransactionConflict"}]
            error = {
                "Error": {"Code": "TransactionCanceledException", "Message": "injected"},
                "CancellationReasons": reasons,
            }
            return _HttpResponse(400), error
        return None

    def __enter__(self) -> _Faults:
        aws.dynamodb().meta.events.register(
            "before-call.dynamodb.TransactWriteItems", self.before, unique_id="fault-before"
        )
        return self

    def __exit__(self, *_: Any) -> None:
        aws.dynamodb().meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="fault-before")


class _HttpResponse:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None


def test_throttling_and_conflicts_end_with_every_event_stored_and_counted_once(standin, new_player):
    player = new_player()
    now = fresh_day()
    batch = [make_event(ts=now - 5) for _ in range(25)]
    with _Faults(["throttle", "conflict", "throttle", "conflict", "ok"]) as faults:
        answer = _ingest_at(player.player_id, batch, now)
    assert answer == {"accepted": 25, "duplicates": 0, "rejected": []}
    assert faults.calls == 5
    assert len(stored_events(player.player_id)) == 25
    inserts = _inserts(player.player_id)
    assert len(inserts) == 25 and set(inserts.values()) == {1}
    row = day_row(now)
    assert (row["events"], row["active_players"], row["new_players"]) == (25, 1, 1)


def test_a_store_that_never_recovers_reports_each_unstored_event(api, new_player):
    player = new_player()
    now = fresh_day()
    batch = [make_event(ts=now - 5) for _ in range(6)]
    with _Faults(["throttle"] * 20):
        answer = _ingest_at(player.player_id, batch, now)
        resp = api.post("/events", {"events": [make_event()]}, player=player)
    assert answer["accepted"] == 0 and answer["duplicates"] == 0
    assert [(r["index"], r["code"]) for r in answer["rejected"]] == [(i, "unavailable") for i in range(6)]
    assert resp.status == 202 and [r["code"] for r in resp.json["rejected"]] == ["unavailable"]
    assert stored_events(player.player_id) == [] and day_row(now)["events"] == 0
    # The client resends the batch: all of it is stored and counted now, once.
    again = _ingest_at(player.player_id, batch, now)
    assert again == {"accepted": 6, "duplicates": 0, "rejected": []}
    assert len(stored_events(player.player_id)) == 6 and day_row(now)["events"] == 6


def _seed(events: list[dict[str, Any]], **payload: Any) -> dict[str, Any]:
    return {
        "functionName": "game-events",
        "playerId": "someone-else",
        "payload": {"events": events, **payload},
        "headers": {},
        "timestamp": int(time.time()),
    }


def test_seed_game_events_dedupes_a_requeued_batch_by_the_events_own_fields(api, new_player):
    player = new_player()
    seed_events = [
        {
            "eventType": "level_start",
            "playerId": "spoofed",
            "eventData": {"level": 1},
            "timestamp": 12.5,
            "sessionId": "a",
        },
        {
            "eventType": "level_complete",
            "playerId": "spoofed",
            "eventData": {"level": 1},
            "timestamp": 80.25,
            "sessionId": "a",
        },
        {"eventType": "nope", "eventData": {}, "timestamp": 81.0, "sessionId": "a"},
    ]
    first = api.post("/game-events", _seed(seed_events, batch_id="b1", batch_timestamp=int(time.time())), player=player)
    assert first.status == 200, first.body
    assert first.json["accepted"] == 2 and first.json["batch_id"] == "b1" and first.json["processed"] == 3
    assert [(r["index"], r["code"]) for r in first.json["rejected"]] == [(2, "unknown_type")]
    # Re-queued under a new batch id and time: the same events, so duplicates.
    again = api.post(
        "/game-events", _seed(seed_events, batch_id="b2", batch_timestamp=int(time.time()) + 5), player=player
    )
    assert again.json["accepted"] == 0 and again.json["duplicates"] == 2
    items = stored_events(player.player_id)
    assert len(items) == 2 and {i["player_id"]["S"] for i in items} == {player.player_id}


def test_seed_routes_errors_and_analytics_post(api, new_player):
    player = new_player()
    bad = api.post("/game-events", {"payload": {"events": "x"}}, player=player)
    assert bad.status == 400 and bad.json["error"].startswith("payload.events")
    one = {"eventType": "screen_view", "eventData": {"screen": "shop"}, "timestamp": time.time(), "sessionId": "z"}
    resp = api.post("/analytics", {"functionName": "analytics", "payload": one}, player=player)
    assert resp.status == 200, resp.body
    assert resp.json["accepted"] == 1
    assert api.post("/analytics", {"payload": one}, player=player).json["duplicates"] == 1
    with _Faults(["throttle"] * 20):
        busy = api.post("/game-events", _seed([{**one, "sessionId": "y"}]), player=player)
    assert busy.status == 503 and "error" in busy.json and busy.headers.get("Retry-After")


def test_account_deletion_erases_events_and_markers(api, new_player):
    player = new_player()
    api.post("/events", {"events": [make_event(), make_event()]}, player=player)
    resp = api.delete("/players/me", player=player)
    assert resp.status == 200, resp.body
    assert resp.json["erased"]["events"] >= 2 + 2  # two events, the FIRST and day markers
    assert stored_events(player.player_id) == []


def test_seed_events_without_a_timestamp_are_never_merged(api, new_player):
    """The same event without a timestamp, sent in two batches, is two events (the issue:
    its id was a hash of its fields, so every later one was a "duplicate" forever). A
    client that keeps its batch id on a resend is still recognised."""
    player = new_player()
    click = {"eventType": "ui_click", "eventData": {"button": "play"}, "sessionId": "a"}
    first = api.post("/game-events", _seed([click, click], batch_id="b1"), player=player)
    assert first.status == 200, first.body
    assert (first.json["accepted"], first.json["duplicates"]) == (2, 0)
    later = api.post("/game-events", _seed([click], batch_id="b2"), player=player)
    assert (later.json["accepted"], later.json["duplicates"]) == (1, 0)
    no_batch_id = [api.post("/game-events", _seed([click]), player=player).json for _ in range(2)]
    assert [(r["accepted"], r["duplicates"]) for r in no_batch_id] == [(1, 0), (1, 0)]
    single = [api.post("/analytics", {"payload": click}, player=player).json for _ in range(2)]
    assert [(r["accepted"], r["duplicates"]) for r in single] == [(1, 0), (1, 0)]
    # The same batch resent under the same batch id: nothing new.
    resent = api.post("/game-events", _seed([click, click], batch_id="b1"), player=player)
    assert (resent.json["accepted"], resent.json["duplicates"]) == (0, 2)
    assert len(stored_events(player.player_id)) == 7


def test_identical_seed_events_of_one_frame_are_distinct_and_their_resend_is_not(api, new_player):
    """Unity's Time.time is the same for every event tracked in one frame: two identical
    events of a frame are two events, and the re-queued batch (new batch id, new batch
    time, as the seed sends it) is recognised whole."""
    player = new_player()
    hit = {"eventType": "ui_click", "eventData": {"target": "enemy"}, "timestamp": 42.125, "sessionId": "s"}
    batch = [hit, {**hit, "eventData": {"target": "wall"}}, hit, hit]
    first = api.post("/game-events", _seed(batch, batch_id="g1", batch_timestamp=int(time.time())), player=player)
    assert (first.json["accepted"], first.json["duplicates"]) == (4, 0)
    again = api.post("/game-events", _seed(batch, batch_id="g2", batch_timestamp=int(time.time()) + 3), player=player)
    assert (again.json["accepted"], again.json["duplicates"]) == (0, 4)
    next_frame = api.post("/game-events", _seed([{**hit, "timestamp": 42.141}], batch_id="g3"), player=player)
    assert (next_frame.json["accepted"], next_frame.json["duplicates"]) == (1, 0)
    assert len(stored_events(player.player_id)) == 5
