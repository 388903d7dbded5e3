"""The seed Unity client, replayed: exactly the requests `UnityServerlessManager` and
`UnityServerlessEvents` send, against the running local backend, on all eight routes.

`InvokeLambdaFunction` POSTs `{functionName, playerId, payload, headers, timestamp}` to
`{apiGatewayUrl}/{functionName}` with `Content-Type: application/json` and
`Authorization: <token>` (the bare token from `GetAuthToken()`), treats any 2xx as
success and parses the body as a JSON object. The events script sends batches of up to
10 events `{eventType, playerId, eventData, timestamp: Time.time, sessionId}` with a new
`batch_id` each time, and re-queues a failed batch's events, which go out again under a
new batch id.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


class SeedClient:
    """A line-by-line Python stand-in for the seed's C# manager."""

    def __init__(self, backend: Any, guest: dict[str, Any]) -> None:
        self.backend = backend
        self.token = guest["id_token"]
        # The seed's GetPlayerId() is a local id; the server must not trust it.
        self.local_player_id = "local-" + uuid.uuid4().hex[:8]
        self.queue: list[dict[str, Any]] = []
        self.session_id = uuid.uuid4().hex
        self.started = time.time()

    def invoke(self, function_name: str, payload: dict[str, Any]) -> tuple[bool, int, dict[str, Any]]:
        request = {
            "functionName": function_name,
            "playerId": self.local_player_id,
            "payload": payload,
            "timestamp": int(time.time()),
            "headers": {"Authorization": self.token},
        }
        resp = self.backend.http.post(
            f"{self.backend.url}/{function_name}",
            json=request,
            timeout=300,
            headers={"Content-Type": "application/json", "Authorization": self.token},
        )
        body = resp.json()
        assert isinstance(body, dict), f"{function_name}: the seed parses a JSON object"
        return 200 <= resp.status_code < 300, resp.status_code, body

    # UnityServerlessEvents
    def track(self, event_type: str, data: dict[str, Any]) -> None:
        self.queue.append(
            {
                "eventType": event_type,
                "playerId": self.local_player_id,
                "eventData": data,
                "timestamp": round(time.time() - self.started + 1.5, 3),
                "sessionId": self.session_id,
            }
        )

    def send_batch(self) -> tuple[bool, dict[str, Any]]:
        batch, self.queue = self.queue[:10], self.queue[10:]
        ok, _, body = self.invoke(
            "game-events", {"events": batch, "batch_id": str(uuid.uuid4()), "batch_timestamp": int(time.time())}
        )
        if not ok:
            self.queue.extend(batch)  # re-queued, sent again later under a new batch id
        return ok, body


def test_all_eight_seed_routes_answer_the_shapes_the_seed_reads(backend):
    client = SeedClient(backend, backend.guest())

    ok, _, body = client.invoke("player-stats", {"kills": 3, "high_score": 1200})
    assert ok and body["message"] == "Player stats updated successfully"
    assert body["player_id"] != client.local_player_id

    ok, _, body = client.invoke(
        "leaderboard", {"leaderboard_type": "global", "limit": 10, "player_id": client.local_player_id}
    )
    assert ok and set(body) == {"leaderboard", "player_rank", "leaderboard_type", "total_entries"}
    assert isinstance(body["leaderboard"], list) and body["leaderboard"]
    assert set(body["leaderboard"][0]) == {"rank", "player_id", "player_name", "score", "last_updated"}
    assert isinstance(body["player_rank"], int)  # high_score feeds the global board

    ok, _, body = client.invoke("achievements", {})
    assert ok and body

    ok, _, body = client.invoke("notifications", {})
    assert ok and body

    ok, _, body = client.invoke("user-progress", {"slot": "main", "data": {"level": 2}, "expected_version": 0})
    assert ok, body
    ok, _, body = client.invoke("user-progress", {"slot": "main"})
    assert ok and "level" in str(body)

    ok, _, body = client.invoke("matchmaking", {"game_mode": "standard", "skill_level": 99999, "region": "us-east-1"})
    assert ok and body["status"] in ("searching", "match_found")
    assert body["game_mode"] == "standard" and "estimated_wait_time" in body
    if body["status"] == "searching":
        assert body["request_id"]
    else:
        assert body["match_id"] and body["opponent_id"]

    ok, _, body = client.invoke(
        "analytics",
        {"eventType": "screen_view", "eventData": {"screen": "shop"}, "timestamp": 3.5, "sessionId": client.session_id},
    )
    assert ok, body

    for i in range(3):
        client.track("level_start", {"level": i})
    ok, body = client.send_batch()
    assert ok and body["accepted"] == 3


def test_two_seed_players_are_matched_with_each_other(backend):
    a, b = SeedClient(backend, backend.guest()), SeedClient(backend, backend.guest())
    payload = {"game_mode": "duel", "skill_level": 1, "region": "eu-west-1"}
    first = a.invoke("matchmaking", payload)[2]
    second = b.invoke("matchmaking", payload)[2]
    found = second if second["status"] == "match_found" else a.invoke("matchmaking", payload)[2]
    assert found["status"] == "match_found"
    assert first["status"] in ("searching", "match_found")


def test_a_requeued_event_batch_is_counted_once(backend):
    client = SeedClient(backend, backend.guest())
    for i in range(12):
        client.track("ui_click", {"button": i})
    first = list(client.queue[:10])
    # The first attempt's answer is lost on the way back: the seed re-queues the events.
    ok, body = client.send_batch()
    assert ok and body["accepted"] == 10
    client.queue = first + client.queue  # as if the response had failed
    ok, body = client.send_batch()
    assert ok and body["accepted"] == 0 and body["duplicates"] == 10
    ok, body = client.send_batch()
    assert ok and body["accepted"] == 2


def test_seed_errors_are_readable_by_the_seed(backend):
    client = SeedClient(backend, backend.guest())
    ok, status, body = client.invoke("player-stats", {"no_such_stat": 1})
    assert not ok and status == 400 and body["error"]
    client.token = "garbage"
    ok, status, body = client.invoke("leaderboard", {"leaderboard_type": "global", "limit": 10})
    assert not ok and status == 401 and body["error"]
