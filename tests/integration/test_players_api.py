"""Routes of auth, players and stats through chalice.test.Client on the stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.services.tokens import Claims
from tests.tokens import bad_tokens, claims_of


def test_health_needs_no_token(api):
    resp = api.get("/health")
    assert resp.status == 200
    assert resp.json["status"] == "ok"


def test_guest_token_reaches_profile(api, new_player):
    player = new_player()
    resp = api.get("/players/me", player=player)
    assert resp.status == 200, resp.body
    assert resp.json["player_id"] == player.player_id
    assert resp.json["is_guest"] is True


@pytest.mark.parametrize(
    "case",
    [
        "none",
        "garbage",
        "alg_none",
        "other_key",
        "expired",
        "wrong_issuer",
        "wrong_client",
        "wrong_token_use",
        "tampered_sub",
    ],
)
def test_bad_tokens_get_401(api, new_player, case):
    player = new_player()
    headers = {} if case == "none" else {"Authorization": f"Bearer {bad_tokens(player.id_token)[case]}"}
    for path in ("/players/me", "/players/me/stats", "/config"):
        resp = api.get(path, headers=headers)
        assert resp.status == 401, (case, path, resp.body)
        assert resp.json["code"] in {"missing_token", "invalid_token", "token_expired"}
        assert "error" in resp.json


def test_expired_and_wrong_claims_are_refused_even_when_signed_by_the_pool(api, new_player, monkeypatch):
    """The pool's own key, but claims that must not pass: checked by the verifier with a moved clock."""
    from chalicelib.api import identity

    player = new_player()
    verifier = identity.token_verifier()
    monkeypatch.setattr(verifier, "clock", lambda: claims_of(player.id_token)["exp"] + 3600)
    resp = api.get("/players/me", player=player)
    assert resp.status == 401
    assert resp.json["code"] == "token_expired"


def test_bare_token_is_accepted_as_api_gateway_does(api, new_player):
    player = new_player()
    resp = api.get("/players/me", headers={"Authorization": player.id_token})
    assert resp.status == 200


def test_access_token_is_accepted_too(api, new_player):
    player = new_player()
    resp = api.get("/players/me", headers={"Authorization": f"Bearer {player.access_token}"})
    assert resp.status == 200
    assert resp.json["player_id"] == player.player_id


def test_claims_come_from_the_token_not_the_request(api, new_player):
    alice, bob = new_player(), new_player()
    api.post("/players/me/stats", {"updates": {"kills": 5}}, player=alice)
    # Bob names Alice everywhere a client could: body, query and header.
    resp = api.call(
        "GET", "/players/me/stats?player_id=" + alice.player_id, player=bob, headers={"X-Player-Id": alice.player_id}
    )
    assert resp.status == 200
    assert resp.json["player_id"] == bob.player_id
    assert resp.json["stats"]["kills"] == 0
    resp = api.post(
        "/player-stats",
        {"functionName": "player-stats", "playerId": alice.player_id, "payload": {"kills": 1}, "timestamp": 1},
        player=bob,
    )
    assert resp.status == 200
    assert resp.json["player_id"] == bob.player_id
    assert api.get("/players/me/stats", player=alice).json["stats"]["kills"] == 5


def test_admin_route_with_player_token_is_403(api, new_player):
    player = new_player()
    resp = api.get(f"/admin/players/{player.player_id}", player=player)
    assert resp.status == 403
    assert resp.json["code"] == "not_admin"


def test_admin_reads_a_player_and_writes_server_stats(api, new_player, admin):
    player = new_player()
    assert api.get(f"/admin/players/{player.player_id}", player=admin).status == 200
    resp = api.post(f"/admin/players/{player.player_id}/stats", {"updates": {"rating": 1234}}, player=admin)
    assert resp.status == 200, resp.body
    assert api.get("/players/me/stats", player=player).json["stats"]["rating"] == 1234
    assert api.get("/admin/players/no-such-player", player=admin).status == 404


def test_client_cannot_write_server_stat(api, new_player):
    player = new_player()
    resp = api.post("/players/me/stats", {"updates": {"rating": 4000}}, player=player)
    assert resp.status == 403
    assert resp.json["details"]["field"] == "updates.rating"
    assert api.get("/players/me/stats", player=player).json["stats"]["rating"] == 1000


def test_stats_aggregate_by_declaration(api, new_player):
    player = new_player()
    ok = api.post(
        "/players/me/stats",
        {"updates": {"kills": 3, "high_score": 50, "best_lap_seconds": 80.5, "level": 4}},
        player=player,
    )
    assert ok.status == 200, ok.body
    ok = api.post(
        "/players/me/stats",
        {"updates": {"kills": 2, "high_score": 40, "best_lap_seconds": 90.0, "level": 3}},
        player=player,
    )
    stats = ok.json["stats"]
    assert stats["kills"] == 5
    assert stats["high_score"] == 50  # max keeps the best
    assert stats["best_lap_seconds"] == 80.5  # min keeps the best
    assert stats["level"] == 3  # latest
    assert api.get("/players/me/stats", player=player).json["stats"] == stats


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"updates": {"a = :b, c": 1}}, "updates.a = :b, c"),
        ({"updates": {"no_such_stat": 1}}, "updates.no_such_stat"),
        ({"updates": {"kills": "5"}}, "updates.kills"),
        ({"updates": {"kills": True}}, "updates.kills"),
        ({"updates": {"kills": 1.5}}, "updates.kills"),
        ({"updates": {"kills": 101}}, "updates.kills"),
        ({"updates": {"level": 0}}, "updates.level"),
        ({"updates": {"level": 101}}, "updates.level"),
        ({"updates": {"kills": 1e300}}, "updates.kills"),
        ({"updates": {}}, "updates"),
        ({"updates": {"kills": 1}, "extra": 1}, "extra"),
        ({}, "updates"),
    ],
)
def test_bad_stat_updates_are_400_and_write_nothing(api, new_player, body, field):
    player = new_player()
    before = api.get("/players/me/stats", player=player).json
    # A valid update alongside the bad one must not be applied either.
    if body.get("updates"):
        body = {**body, "updates": {"deaths": 1, **body["updates"]}}
    resp = api.post("/players/me/stats", body, player=player)
    assert resp.status == 400, resp.body
    assert resp.json["details"]["field"] == field
    assert field in resp.json["error"]
    assert api.get("/players/me/stats", player=player).json == before


@pytest.mark.parametrize(
    "raw", ['{"updates": {"kills": NaN}}', '{"updates": {"kills": Infinity}}', "{not json", "[1,2"]
)
def test_non_finite_or_broken_json_is_400(api, new_player, raw):
    player = new_player()
    resp = api.post("/players/me/stats", player=player, raw=raw)
    assert resp.status == 400
    assert api.get("/players/me/stats", player=player).json["stats"]["kills"] == 0


def test_sum_bound_is_enforced_atomically(api, new_player, admin):
    player = new_player()
    # matches_played: max_delta 1; wins: max 1e9. Push xp near its max through the server path.
    for _ in range(3):
        assert api.post("/players/me/stats", {"updates": {"deaths": -1}}, player=player).status == 400
    assert api.get("/players/me/stats", player=player).json["stats"]["deaths"] == 0


def test_body_over_the_limit_is_413(api, new_player):
    player = new_player()
    resp = api.post("/players/me/stats", player=player, raw='{"updates": {"kills": 1}, "pad": "' + "x" * 300_000 + '"}')
    assert resp.status == 413
    assert resp.json["code"] == "too_large"


def test_display_name_rules(api, new_player):
    player = new_player()
    ok = api.patch("/players/me", {"display_name": "  Ace   Pilot "}, player=player)
    assert ok.status == 200, ok.body
    assert ok.json["display_name"] == "Ace Pilot"
    for bad in ["ab", "x" * 25, "bad<script>", "\u0000abc", 5]:
        resp = api.patch("/players/me", {"display_name": bad}, player=player)
        assert resp.status == 400, bad
        assert resp.json["details"]["field"] == "display_name"
    assert api.get("/players/me", player=player).json["display_name"] == "Ace Pilot"


def test_config_lists_client_visible_stats(api, new_player):
    resp = api.get("/config", player=new_player())
    assert resp.status == 200
    assert "kills" in resp.json["stats"]


def test_login_refresh_and_upgrade_keep_the_same_player(api, new_player):
    guest = new_player()
    api.post("/players/me/stats", {"updates": {"kills": 7}}, player=guest)
    login = api.post("/auth/login", {"username": guest.username, "password": guest.password})
    assert login.status == 200 and login.json["player_id"] == guest.player_id
    refreshed = api.post("/auth/refresh", {"refresh_token": guest.refresh_token})
    assert refreshed.status == 200 and refreshed.json["player_id"] == guest.player_id
    email = f"{guest.player_id[:8]}@example.com"
    up = api.post("/auth/upgrade", {"email": email, "password": "Strong-pass-1"}, player=guest)
    assert up.status == 200, up.body
    assert up.json["player_id"] == guest.player_id
    by_email = api.post("/auth/login", {"username": email, "password": "Strong-pass-1"})
    assert by_email.status == 200 and by_email.json["player_id"] == guest.player_id
    headers = {"Authorization": by_email.json["id_token"]}
    me = api.get("/players/me", headers=headers).json
    assert me["is_guest"] is False and me["email"] == email
    assert api.get("/players/me/stats", headers=headers).json["stats"]["kills"] == 7
    # The old device password no longer works; upgrading twice is refused; email is unique.
    assert api.post("/auth/login", {"username": guest.username, "password": guest.password}).status == 401
    assert (
        api.post("/auth/upgrade", {"email": "x@example.com", "password": "Strong-pass-1"}, headers=headers).status
        == 403
    )
    other = new_player()
    taken = api.post("/auth/upgrade", {"email": email, "password": "Strong-pass-1"}, player=other)
    assert taken.status == 409


def test_bad_credentials_are_401(api):
    assert api.post("/auth/login", {"username": "nobody", "password": "nope"}).status == 401
    assert api.post("/auth/refresh", {"refresh_token": "nope"}).status == 401
    assert api.post("/auth/login", {"username": "x"}).status == 400


def test_rate_limited_guest_route_answers_429_with_retry_after(api, monkeypatch):
    from chalicelib import config

    monkeypatch.setenv("GUEST_RATE_LIMIT", "0")
    config.reset_settings()
    try:
        resp = api.post("/auth/guest", {})
        assert resp.status == 429
        assert int(resp.headers["Retry-After"]) >= 1
    finally:
        monkeypatch.setenv("GUEST_RATE_LIMIT", "100000")
        config.reset_settings()


def test_delete_account_erases_everything(api, new_player):
    player = new_player()
    api.post("/players/me/stats", {"updates": {"kills": 2}}, player=player)
    resp = api.delete("/players/me", player=player)
    assert resp.status == 200, resp.body
    assert resp.json["erased"]["players"] >= 2
    from chalicelib.storage.players import PlayersRepository, PlayerStats

    repo = PlayersRepository()
    assert repo.get_profile(player.player_id) is None
    assert repo.get_stats(player.player_id) == PlayerStats(player.player_id)
    assert api.post("/auth/login", {"username": player.username, "password": player.password}).status == 401


def test_unexpected_failure_is_a_generic_500(api, new_player, monkeypatch):
    from chalicelib.services import stats

    def boom(**_: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(stats, "get_stats", boom)
    resp = api.get("/players/me/stats", player=new_player())
    assert resp.status == 500
    assert resp.json["code"] == "internal"
    assert b"secret detail" not in resp.body and b"Traceback" not in resp.body


def test_claims_type_is_what_routes_see():
    assert Claims(sub="a", username="u", groups=("admins",), token_use="id", raw={}).in_group("admins")


@pytest.mark.parametrize("number", ["4.8e-234", "1e200", "1" * 39])
def test_numbers_dynamodb_cannot_store_are_400_anywhere(api, admin, number):
    """Found by schemathesis: a tiny float inside free-form data reached the store as a 500."""
    raw = '{"title": "x", "broadcast": true, "data": {"n": ' + number + "}}"
    resp = api.post("/admin/notifications", raw=raw, player=admin)
    assert resp.status == 400, resp.body
    assert resp.json["details"]["field"] == "data.n"
