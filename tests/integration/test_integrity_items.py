"""The smaller integrity items: each with the test that would have caught it."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def test_clients_cannot_lower_kills_or_deaths_but_the_server_can(api, admin, new_player):
    player = new_player()
    assert api.post("/players/me/stats", {"updates": {"kills": 5, "deaths": 2}}, player=player).status == 200
    for name in ("kills", "deaths"):
        resp = api.post("/players/me/stats", {"updates": {name: -1}}, player=player)
        assert resp.status == 400, resp.body
        assert resp.json["code"] == "decrease_forbidden" and resp.json["details"]["field"] == f"updates.{name}"
    # Seed route: the same rule.
    seed = api.post("/player-stats", {"payload": {"kills": -3}, "action": "increment"}, player=player)
    assert seed.status == 400
    fixed = api.post(f"/admin/players/{player.player_id}/stats", {"updates": {"kills": -1}}, player=admin)
    assert fixed.status == 200, fixed.body
    stats = api.get("/players/me/stats", player=player).json["stats"]
    assert stats["kills"] == 4 and stats["deaths"] == 2
    doc = api.get("/openapi.json").json
    schema = doc["components"]["schemas"]["StatsUpdate"]["properties"]["updates"]["properties"]
    assert schema["kills"]["minimum"] == 0 and schema["xp"]["minimum"] < 0


def test_the_stats_answer_carries_the_unlocks_and_rewards_it_caused(api, new_player):
    player = new_player()
    resp = api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player)
    assert resp.status == 200
    assert resp.json["unlocked"] == ["first_blood"]
    assert resp.json["stats"]["xp"] == 50  # first_blood's reward, in the same answer
    again = api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player)
    assert again.json["unlocked"] == [] and again.json["stats"]["xp"] == 50


def test_cross_field_errors_name_a_field_of_their_own_place(api, admin):
    summary = api.get("/admin/analytics/summary?from=2031-02-01&to=2031-01-01", player=admin)
    assert summary.status == 400 and summary.json["details"]["field"] == "from"
    send = api.post("/admin/notifications", {"title": "x"}, player=admin)
    assert send.status == 400 and send.json["details"]["field"] == "player_id"
    login = api.post("/auth/login", {"password": "x"})
    assert login.status == 400 and login.json["details"]["field"] == "username"


def test_login_takes_the_email_the_readme_tells_users_to_use(api, new_player):
    guest = new_player()
    email = f"{guest.player_id[:12]}@example.org"
    assert api.post("/auth/upgrade", {"email": email, "password": "Strong-pass-2"}, player=guest).status == 200
    by_email = api.post("/auth/login", {"email": email, "password": "Strong-pass-2"})
    assert by_email.status == 200, by_email.body
    assert by_email.json["player_id"] == guest.player_id
    both = api.post("/auth/login", {"email": email, "username": guest.username, "password": "Strong-pass-2"})
    assert both.status == 400


def test_a_repeated_query_parameter_is_refused_not_cut(api, new_player):
    player = new_player()
    resp = api.get(f"/leaderboards/daily_score/players?ids=a&ids={player.player_id}", player=player)
    assert resp.status == 400 and resp.json["details"]["field"] == "ids"
    ok = api.get(f"/leaderboards/daily_score/players?ids=a,{player.player_id}", player=player)
    assert ok.status == 200


def test_a_store_error_answer_carries_a_request_id(api, new_player, monkeypatch):
    from chalicelib.services import stats

    def refused(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "secret"}}, "GetItem")

    player = new_player()
    monkeypatch.setattr(stats, "get_stats", refused)
    resp = api.get("/players/me/stats", player=player)
    assert resp.status == 500 and resp.json["code"] == "store_error"
    assert resp.json["request_id"] and b"secret" not in resp.body


def test_server_reported_achievements_progress_through_the_admin_route(api, admin, new_player):
    player = new_player()
    client = api.post("/achievements/tournament_champion/progress", {"steps": 1}, player=player)
    assert client.status == 403 and client.json["code"] == "server_reported"
    path = f"/admin/players/{player.player_id}/achievements/tournament_champion/progress"
    assert api.post(path, {"steps": 1}, player=player).status == 403  # not an admin
    first = api.post(path, {"steps": 2}, player=admin)
    assert first.status == 200, first.body
    assert first.json["achievement"]["progress"] == 2 and first.json["unlocked_now"] is False
    done = api.post(path, {"steps": 1}, player=admin)
    assert done.json["unlocked_now"] is True and done.json["achievement"]["unlocked"] is True
    mine = {a["id"]: a for a in api.get("/achievements", player=player).json["achievements"]}
    assert mine["tournament_champion"]["unlocked"] is True
    missing = api.post("/admin/players/nobody/achievements/tournament_champion/progress", {"steps": 1}, player=admin)
    assert missing.status == 404
