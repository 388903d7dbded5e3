"""Identity and stats over HTTP against the running local backend (`chalice local`)."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

pytestmark = pytest.mark.e2e


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _resign(token: str, **changes: Any) -> str:
    key = RSAKey.generate_key(2048, private=True)
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, {**_claims(token), **changes}, key)


def test_health_over_http(backend):
    resp = backend.request("GET", "/health")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"


def test_bad_tokens_are_401_over_http(backend):
    guest = backend.guest()
    valid = guest["id_token"]
    claims = _claims(valid)
    cases = {
        "none": None,
        "garbage": "garbage",
        "alg_none": _b64({"alg": "none"}) + "." + _b64(claims) + ".",
        "other_key": _resign(valid),
        "expired": _resign(valid, exp=1),
        "wrong_issuer": _resign(valid, iss="https://cognito-idp.us-east-1.amazonaws.com/x"),
        "wrong_client": _resign(valid, aud="other"),
        "wrong_token_use": _resign(valid, token_use="refresh"),
    }
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
    resp = backend.request("POST", "/player-stats", token=bob["id_token"],
                           json={"functionName": "player-stats", "playerId": alice["player_id"],
                                 "payload": {"action": "get"}, "timestamp": 0})
    assert resp.status_code == 200
    assert resp.json()["player_id"] == bob["player_id"]
    assert resp.json()["stats"]["kills"] == 0


@pytest.mark.parametrize(
    "updates",
    [{"a = :b, c": 1}, {"nope": 1}, {"kills": "1"}, {"kills": 10_000}],
)
def test_bad_stat_updates_write_nothing_over_http(backend, updates):
    guest = backend.guest()
    resp = backend.request("POST", "/players/me/stats", token=guest["id_token"], json={"updates": {"deaths": 1, **updates}})
    assert resp.status_code == 400
    assert resp.json()["details"]["field"].startswith("updates.")
    stats = backend.request("GET", "/players/me/stats", token=guest["id_token"]).json()["stats"]
    assert stats["deaths"] == 0


def test_nan_is_400_over_http(backend):
    guest = backend.guest()
    resp = backend.request("POST", "/players/me/stats", token=guest["id_token"],
                           data='{"updates": {"kills": NaN}}', headers={"Content-Type": "application/json"})
    assert resp.status_code == 400


def test_fifty_concurrent_increments_land_exactly_over_http(backend):
    guest = backend.guest()

    def bump(_: int) -> int:
        return backend.request("POST", "/players/me/stats", token=guest["id_token"],
                               json={"updates": {"kills": 1, "xp": 3}}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(bump, range(50)))
    assert codes == [200] * 50
    stats = backend.request("GET", "/players/me/stats", token=guest["id_token"]).json()["stats"]
    assert stats["kills"] == 50
    assert stats["xp"] == 150
