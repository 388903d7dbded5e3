"""Event batches resent concurrently over HTTP, against `chalice local` on the stand-in:
the answers add up to what was stored, whatever the interleaving."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e


def _concurrently(backend: Any, copies: int, path: str, token: str, body: dict[str, Any]) -> list[requests.Response]:
    """`copies` identical POSTs released together by a barrier, each on its own connection."""
    barrier = threading.Barrier(copies)
    answers: list[requests.Response] = []

    def send() -> None:
        with requests.Session() as http:
            barrier.wait()
            answers.append(
                http.post(backend.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
            )

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_a_batch_sent_three_times_at_once_is_accepted_once_in_total(backend):
    token = backend.guest()["id_token"]
    now = time.time()
    batch = [
        {"event_id": uuid.uuid4().hex, "type": "level_start", "timestamp": now, "session_id": "s", "data": {"i": i}}
        for i in range(10)
    ]
    answers = _concurrently(backend, 3, "/events", token, {"events": batch})
    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert all(b["rejected"] == [] and b["accepted"] + b["duplicates"] == 10 for b in bodies), bodies
    assert sum(b["accepted"] for b in bodies) == 10 and sum(b["duplicates"] for b in bodies) == 20, bodies
    # A fourth copy afterwards: every event is already there.
    again = backend.request("POST", "/events", token, json={"events": batch})
    assert again.json() == {"accepted": 0, "duplicates": 10, "rejected": []}


def test_a_seed_batch_resent_at_once_under_new_batch_ids_is_accepted_once_in_total(backend):
    token = backend.guest()["id_token"]
    events = [
        {"eventType": "ui_click", "playerId": "x", "eventData": {"b": i % 3}, "timestamp": 7.25, "sessionId": "s"}
        for i in range(10)
    ]
    body = {
        "functionName": "game-events",
        "playerId": "x",
        "payload": {"events": events, "batch_id": str(uuid.uuid4()), "batch_timestamp": int(time.time())},
        "headers": {},
        "timestamp": int(time.time()),
    }
    answers = _concurrently(backend, 3, "/game-events", token, body)
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert sum(b["accepted"] for b in bodies) == 10 and sum(b["duplicates"] for b in bodies) == 20, bodies
