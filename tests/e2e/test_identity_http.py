"""Identity and stats over HTTP against the running local backend (`chalice local`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.tokens import bad_tokens

pytestmark = pytest.mark.e2e


def test_health_over_http(backend):
    resp = backend.request("GET", "/health")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"


def test_bad_tokens_are_401_over_http(backend):
    guest = backend.guest()
    valid = guest["id_token"]
    cases: dict[str, str | None] = {"none": None, **bad_tokens(valid)}
    for name, token in cases.items():
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        resp = backend.request("GET", "/players/me", headers=headers)
        assert resp.status_code == 401, (name, resp.text)
        assert resp.json()["code"] in {"missing_token", "invalid_token", "token_expired"}
    assert backend.request("GET", "/players/me", token=valid).status_code == 200


def test_player_token_on_admin_route_is_403_over_http(backend):
    guest = backend.guest()
    resp = backend.request("GET", f"/admin/players/{guest['player_id']}", token=guest["id_token"])
    assert resp.status_code == 403


def test_other_players_data_is_unreachable_over_http(backend):
    alice, bob = backend.guest(), backend.guest()
    backend.request("POST", "/players/me/stats", token=alice["id_token"], json={"updates": {"kills": 9}})
    resp = backend.request(
        "POST",
        "/player-stats",
        token=bob["id_token"],
        json={
            "functionName": "player-stats",
            "playerId": alice["player_id"],
            "payload": {"action": "get"},
            "timestamp": 0,
        },
    )
    assert resp.status_code == 200
    assert resp.json()["player_id"] == bob["player_id"]
    assert resp.json()["stats"]["kills"] == 0


@pytest.mark.parametrize(
    "updates",
    [{"a = :b, c": 1}, {"nope": 1}, {"kills": "1"}, {"kills": 10_000}],
)
def test_bad_stat_updates_write_nothing_over_http(backend, updates):
    guest = backend.guest()
    resp = backend.request(
        "POST", "/players/me/stats", token=guest["id_token"], json={"updates": {"deaths": 1, **updates}}
    )
    assert resp.status_code == 400
    assert resp.json()["details"]["field"].startswith("updates.")
    stats = backend.request("GET", "/players/me/stats", token=guest["id_token"]).json()["stats"]
    assert stats["deaths"] == 0


def test_nan_is_400_over_http(backend):
    guest = backend.guest()
    resp = backend.request(
        "POST",
        "/players/me/stats",
        token=guest["id_token"],
        data='{"updates": {"kills": NaN}}',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 400


def test_fifty_concurrent_increments_land_exactly_over_http(backend):
    guest = backend.guest()

    def bump(_: int) -> int:
        return backend.request(
            "POST", "/players/me/stats", token=guest["id_token"], json={"updates": {"kills": 1, "deaths": 3}}
        ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(bump, range(50)))
    assert codes == [200] * 50
    stats = backend.request("GET", "/players/me/stats", token=guest["id_token"]).json()["stats"]
    assert stats["kills"] == 50
    assert stats["deaths"] == 150
    # Crossing 1 kill unlocks first_blood, whose reward (+50 xp) is given exactly once.
    assert stats["xp"] == 50
