"""Issue 15 over HTTP: a hostile client against `chalice local` on the stand-in.

Nothing lost (fed boards under concurrency), nothing resurrected (deleted and banned
accounts), nothing applied twice (Idempotency-Key), and hostile input refused. Events
ingestion under concurrent resends is covered by the events tests. Faults inside the
server (throttling, a store error's request id) cannot be caused from outside; the
integration tests inject them (test_faults_all_services, test_integrity_items).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin_token(backend: Any) -> str:
    resp = backend.request("POST", "/auth/login", json={"username": "admin", "password": "Admin-local-1"})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id_token"])


def _stats(backend: Any, token: str) -> dict[str, Any]:
    resp = backend.request("GET", "/players/me/stats", token=token)
    assert resp.status_code == 200, resp.text
    return resp.json()["stats"]  # type: ignore[no-any-return]


def _entry(backend: Any, token: str, board: str) -> Any:
    return backend.request("GET", f"/leaderboards/{board}/me", token=token).json()["entry"]


def test_twenty_concurrent_kills_move_the_fed_board_exactly(backend):
    guest = backend.guest()
    token = guest["id_token"]
    barrier = threading.Barrier(20)
    answers: list[Any] = []
    lost: list[BaseException] = []

    def kill() -> None:
        with requests.Session() as http:  # one connection per client, as 20 devices would
            barrier.wait()
            try:
                answers.append(
                    http.post(
                        backend.url + "/players/me/stats",
                        json={"updates": {"kills": 1}},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=60,
                    )
                )
            except requests.ConnectionError as exc:  # the answer is lost: applied or not, unknown
                lost.append(exc)

    threads = [threading.Thread(target=kill) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [a for a in answers if a.status_code == 200]
    told = [a for a in answers if a.status_code != 200]
    # Whoever was not applied was told so (503, nothing applied); the rest moved stat and board alike.
    assert all(a.status_code == 503 and a.json()["details"]["applied"] is False for a in told), [a.text for a in told]
    kills = _stats(backend, token)["kills"]
    assert len(ok) <= kills <= len(ok) + len(lost) and kills >= 1
    assert _entry(backend, token, "weekly_kills")["score"] == kills


def test_direct_scores_to_a_fed_board_are_refused(backend):
    guest = backend.guest()
    resp = backend.request("POST", "/leaderboards/global/scores", token=guest["id_token"], json={"score": 99999})
    assert resp.status_code == 403 and resp.json()["code"] == "board_fed_by_stat"
    assert _entry(backend, guest["id_token"], "global") is None


def test_a_deleted_account_stays_deleted(backend, admin_token):
    guest = backend.guest()
    token, player_id = guest["id_token"], guest["player_id"]
    backend.request("POST", "/players/me/stats", token=token, json={"updates": {"kills": 2}})
    assert backend.request("DELETE", "/players/me", token=token).status_code == 200
    seed = {"functionName": "x", "playerId": player_id, "payload": {"kills": 1}, "timestamp": 1}
    attempts = [
        ("GET", "/players/me", None),
        ("PATCH", "/players/me", {"display_name": "Back Again"}),
        ("POST", "/players/me/stats", {"updates": {"kills": 1}}),
        ("POST", "/player-stats", seed),
        ("POST", "/leaderboards/daily_score/scores", {"score": 5}),
        ("PUT", "/saves/slot1", {"data": {"x": 1}, "expected_version": 0}),
        ("POST", "/events", {"events": [{"event_id": uuid.uuid4().hex, "type": "level_start", "timestamp": 1}]}),
        ("POST", "/game-events", {"payload": {"events": [{"eventType": "x", "eventData": {}}]}}),
        ("POST", "/matchmaking/tickets", {"queue": "arena", "region": "eu-west-1"}),
        ("GET", "/leaderboards/global", None),
    ]
    for method, path, body in attempts:
        resp = backend.request(method, path, token=token, json=body)
        assert resp.status_code == 401, (path, resp.text)
        assert resp.json()["code"] == "account_deleted", path
    assert backend.request("GET", f"/admin/players/{player_id}", token=admin_token).status_code == 404
    status = backend.request("GET", f"/admin/players/{player_id}/status", token=admin_token).json()
    assert status["status"] == "deleted"
    login = backend.request("POST", "/auth/login", json={"username": guest["username"], "password": guest["password"]})
    assert login.status_code == 401


def test_a_banned_account_is_refused_until_unbanned(backend, admin_token):
    guest = backend.guest()
    token, player_id = guest["id_token"], guest["player_id"]
    resp = backend.request("POST", f"/admin/players/{player_id}/ban", token=admin_token, json={"reason": "cheating"})
    assert resp.status_code == 200 and resp.json()["status"] == "banned"
    for method, path, body in [
        ("GET", "/players/me", None),
        ("POST", "/players/me/stats", {"updates": {"kills": 1}}),
        ("POST", "/player-stats", {"payload": {"kills": 1}}),
    ]:
        got = backend.request(method, path, token=token, json=body)
        assert got.status_code == 403 and got.json()["code"] == "account_banned", path
    login = backend.request("POST", "/auth/login", json={"username": guest["username"], "password": guest["password"]})
    assert login.status_code == 403 and login.json()["code"] == "account_banned"
    refresh = backend.request("POST", "/auth/refresh", json={"refresh_token": guest["refresh_token"]})
    assert refresh.status_code == 403
    assert backend.request("POST", f"/admin/players/{player_id}/ban", token=admin_token, json={}).status_code == 400
    assert (
        backend.request("POST", f"/admin/players/{player_id}/ban", token=token, json={"reason": "x"}).status_code == 403
    )
    lifted = backend.request("POST", f"/admin/players/{player_id}/unban", token=admin_token, json={"reason": "appeal"})
    assert lifted.status_code == 200 and lifted.json()["status"] == "active"
    assert backend.request("GET", "/players/me", token=token).status_code == 200
    assert _stats(backend, token)["kills"] == 0


def test_retried_writes_apply_once(backend):
    guest = backend.guest()
    token = guest["id_token"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = backend.request("POST", "/players/me/stats", token=token, json={"updates": {"kills": 3}}, headers=key)
    again = backend.request("POST", "/players/me/stats", token=token, json={"updates": {"kills": 3}}, headers=key)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _stats(backend, token)["kills"] == 3 and _entry(backend, token, "weekly_kills")["score"] == 3
    other = backend.request("POST", "/players/me/stats", token=token, json={"updates": {"kills": 9}}, headers=key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    # A ticket creation retried after a lost answer is the same ticket, not "you already have one".
    tkey = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"queue": "arena", "region": "us-east-1"}
    t1 = backend.request("POST", "/matchmaking/tickets", token=token, json=body, headers=tkey)
    t2 = backend.request("POST", "/matchmaking/tickets", token=token, json=body, headers=tkey)
    assert t1.status_code == t2.status_code == 201, (t1.text, t2.text)
    assert t1.json()["ticket_id"] == t2.json()["ticket_id"]
    backend.request("DELETE", f"/matchmaking/tickets/{t1.json()['ticket_id']}", token=token)


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "ab\u202ecd", "ab\u200bcd", "x" * 64, "ab", "a\x07bc"])
def test_guest_display_names_are_validated(backend, name):
    resp = backend.request("POST", "/auth/guest", json={"display_name": name})
    assert resp.status_code == 400, resp.text
    assert resp.json()["details"]["field"] == "display_name"


def test_server_reported_achievements_and_the_smaller_items(backend, admin_token):
    guest = backend.guest()
    token, player_id = guest["id_token"], guest["player_id"]
    client = backend.request("POST", "/achievements/tournament_champion/progress", token=token, json={"steps": 1})
    assert client.status_code == 403
    path = f"/admin/players/{player_id}/achievements/tournament_champion/progress"
    done = backend.request("POST", path, token=admin_token, json={"steps": 3})
    assert done.status_code == 200 and done.json()["unlocked_now"] is True
    # kills cannot go down from a client; the answer carries the unlock and its reward.
    neg = backend.request("POST", "/players/me/stats", token=token, json={"updates": {"kills": -5}})
    assert neg.status_code == 400 and neg.json()["code"] == "decrease_forbidden"
    first = backend.request("POST", "/players/me/stats", token=token, json={"updates": {"kills": 1}}).json()
    assert first["unlocked"] == ["first_blood"] and first["stats"]["xp"] == 50
    # Cross-field errors name a field; repeated query parameters are refused.
    summary = backend.request("GET", "/admin/analytics/summary?from=2031-02-01&to=2031-01-01", token=admin_token)
    assert summary.status_code == 400 and summary.json()["details"]["field"] == "from"
    ids = backend.request("GET", f"/leaderboards/global/players?ids=a&ids={player_id}", token=token)
    assert ids.status_code == 400 and ids.json()["details"]["field"] == "ids"
    # Sign in with the email, as the README says.
    email = f"{player_id[:12]}@example.net"
    up = backend.request("POST", "/auth/upgrade", token=token, json={"email": email, "password": "Strong-pass-3"})
    assert up.status_code == 200, up.text
    login = backend.request("POST", "/auth/login", json={"email": email, "password": "Strong-pass-3"})
    assert login.status_code == 200 and login.json()["player_id"] == player_id
