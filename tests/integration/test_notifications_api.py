"""The notification inbox through the routes, on the stand-in."""

from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.game_config import get_game_config
from chalicelib.services import notifications
from chalicelib.storage.notifications import NotificationsRepository


def _send(player_id, n, **kw):
    config, repo = get_game_config(), NotificationsRepository()
    return [
        notifications.send_to_player(
            player_id=player_id, kind="test", title=f"hello {i}", config=config, repo=repo, **kw
        )
        for i in range(n)
    ]


def test_inbox_is_the_callers_own(api, new_player):
    alice, bob = new_player(), new_player()
    _send(alice.player_id, 2)
    resp = api.get("/notifications", player=bob)
    assert resp.status == 200
    assert all(n["broadcast"] for n in resp.json["notifications"])  # nothing of alice's
    mine = [n for n in api.get("/notifications", player=alice).json["notifications"] if not n["broadcast"]]
    assert [n["title"] for n in mine] == ["hello 1", "hello 0"]
    # Bob can neither read nor delete alice's.
    assert api.post("/notifications/read", {"ids": [mine[0]["id"]]}, player=bob).json["marked"] == 0
    assert api.delete(f"/notifications/{mine[0]['id']}", player=bob).status == 404
    assert api.get("/notifications?unread_only=true", player=alice).json["notifications"][0]["id"] == mine[0]["id"]


def test_achievement_unlock_lands_in_the_inbox_once(api, new_player):
    player = new_player()
    api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player)
    api.get("/achievements", player=player)  # a listing re-checks thresholds: no second notice
    mine = [n for n in api.get("/notifications", player=player).json["notifications"] if not n["broadcast"]]
    assert [(n["kind"], n["data"]["achievement_id"]) for n in mine] == [("achievement_unlocked", "first_blood")]


def test_admin_broadcast_reaches_every_player(api, new_player, admin):
    """The per-player read and hidden rules are in tests/unit/test_notifications_rules.py."""
    alice, bob = new_player(), new_player()
    resp = api.post(
        "/admin/notifications", {"broadcast": True, "title": "Season 2", "body": "starts now"}, player=admin
    )
    assert resp.status == 201 and resp.json["broadcast"] is True, resp.body
    bid = resp.json["id"]
    for p in (alice, bob):
        top = api.get("/notifications", player=p).json["notifications"][0]
        assert (top["id"], top["broadcast"], top["read"], top["title"]) == (bid, True, False, "Season 2")
    assert api.post("/notifications/read", {"ids": [bid]}, player=alice).json["marked"] == 1
    assert api.delete(f"/notifications/{bid}", player=alice).status == 200
    assert bid not in [n["id"] for n in api.get("/notifications", player=alice).json["notifications"]]
    assert api.get("/notifications", player=bob).json["notifications"][0]["id"] == bid


def test_admin_send_to_one_player(api, new_player, admin):
    player = new_player()
    body = {"player_id": player.player_id, "title": "Welcome", "data": {"gift": "sword"}}
    assert api.post("/admin/notifications", body, player=player).status == 403
    resp = api.post("/admin/notifications", body, player=admin)
    assert resp.status == 201 and resp.json["broadcast"] is False
    top = next(n for n in api.get("/notifications", player=player).json["notifications"] if not n["broadcast"])
    assert (top["title"], top["data"], top["kind"]) == ("Welcome", {"gift": "sword"}, "admin")
    assert api.post("/admin/notifications", {**body, "player_id": "nobody"}, player=admin).status == 404


def test_bad_input_is_400_naming_the_field(api, new_player, admin):
    player = new_player()
    forged = base64.urlsafe_b64encode(json.dumps({"t": "x"}).encode()).decode()
    for query, field in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("cursor=!!!", "cursor"),
        ("cursor=" + forged, "cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b'{"t": "1", "x": 1}').decode(), "cursor"),
        ("unread_only=maybe", "unread_only"),
        ("player_id=someone", "player_id"),
    ]:
        resp = api.get(f"/notifications?{query}", player=player)
        assert resp.status == 400, (query, resp.body)
        assert resp.json["details"]["field"] == field, (query, resp.json)
    for body in (
        {},
        {"ids": ["n1"]},
        {"ids": [], "all": False},
        {"ids": ["n" + "1" * 13 + "a" * 8], "all": True},
        {"ids": ["n" + "1" * 13 + "a" * 8] * 101},
    ):
        assert api.post("/notifications/read", body, player=player).status == 400, body
    for body in (
        {"title": "x"},
        {"title": "x", "broadcast": True, "player_id": player.player_id},
        {"broadcast": True, "title": ""},
        {"broadcast": True, "title": "x" * 121},
        {"broadcast": True, "title": "x", "kind": "Bad Kind"},
    ):
        resp = api.post("/admin/notifications", body, player=admin)
        assert resp.status == 400, (body, resp.body)
    assert api.delete("/notifications/not-an-id", player=player).status == 404


def test_seed_route(api, new_player):
    player = new_player()
    ids = [r["id"] for r in _send(player.player_id, 3)]
    env = {"functionName": "notifications", "playerId": "other", "payload": {}}
    resp = api.post("/notifications", env, player=player)
    assert resp.status == 200 and {n["id"] for n in resp.json["notifications"]} >= set(ids)
    env["payload"] = {"action": "read", "ids": ids[:1]}
    assert api.post("/notifications", env, player=player).json["marked"] == 1
    env["payload"] = {"action": "delete", "id": ids[1]}
    assert api.post("/notifications", env, player=player).json["deleted"] is True
    env["payload"] = {"action": "unread_count"}
    count = api.post("/notifications", env, player=player).json["unread_count"]
    assert count == api.get("/notifications", player=player).json["unread_count"]
    env["payload"] = {"action": "explode"}
    assert api.post("/notifications", env, player=player).status == 400


def test_account_deletion_erases_the_inbox(api, new_player):
    player = new_player()
    _send(player.player_id, 3, dedupe_key=None)
    resp = api.delete("/players/me", player=player)
    assert resp.status == 200 and resp.json["erased"]["notifications"] >= 4  # 3 items + the counter
    items, _ = NotificationsRepository().page(player.player_id, before=None, limit=10)
    assert items == []


def test_seed_route_refuses_a_bad_body_for_its_action_naming_the_field(api, new_player):
    player = new_player()
    env: dict[str, Any] = {"functionName": "notifications", "playerId": "other"}
    for payload, field in [
        ({"action": "explode"}, "payload.action"),
        ({"action": 3}, "payload.action"),
        ({"action": "delete"}, "payload.id"),
        ({"action": "read"}, "payload.ids"),
        ({"action": "read", "ids": ["not-an-id"]}, "payload.ids"),
        ({"limit": 0}, "payload.limit"),
        ({"action": "list", "surprise": 1}, "payload.surprise"),
    ]:
        resp = api.post("/notifications", {**env, "payload": payload}, player=player)
        assert resp.status == 400, (payload, resp.body)
        assert resp.json["details"]["field"] == field and resp.json["error"] and resp.json["code"], (payload, resp.json)
    # The envelope's own `action` picks the variant too (broadcasts from other tests count).
    counted = api.post("/notifications", {**env, "action": "unread_count", "payload": {}}, player=player).json
    assert counted == {"unread_count": api.get("/notifications", player=player).json["unread_count"]}
