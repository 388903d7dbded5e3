"""One display-name rule wherever a name enters; names stored before it are shown safely."""

from __future__ import annotations

import pytest

from chalicelib.models.players import normalize_display_name
from chalicelib.storage.players import PlayersRepository

BAD = [
    "<script>alert(1)</script>",
    "ab\u202ecd",  # right-to-left override
    "ab\u200bcd",  # zero-width space
    "ab\u200dcd",  # zero-width joiner
    "ab\u2066cd",  # bidi isolate
    "ab\x00cd",
    "ab\tcd",
    "ab\ncd",
    "a\u0301\u0301bc",  # a combining mark left over after NFC
    "x" * 25,
    "x" * 64,
    "ab",
    "   ",
    "ab\u00a0cd",  # no-break space
    "a\ue000bc",  # private use
]
GOOD = {
    "Ace Pilot": "Ace Pilot",
    "  Ace   Pilot  ": "Ace Pilot",
    "Ёжик_42": "Ёжик_42",
    "e\u0301clair": "\u00e9clair",
    "李小龍": "李小龍",
    "a.b-c_d": "a.b-c_d",
}


@pytest.mark.parametrize("name", BAD)
def test_the_rule_refuses(name):
    with pytest.raises(ValueError):
        normalize_display_name(name)


@pytest.mark.parametrize(("name", "stored"), sorted(GOOD.items()))
def test_the_rule_accepts_and_normalizes(name, stored):
    assert normalize_display_name(name) == stored


def test_guest_creation_refuses_bad_names_and_creates_nothing(api, monkeypatch):
    from chalicelib.storage.accounts import AccountsGateway

    created: list[str] = []
    real = AccountsGateway.create_user

    def spy(self, username, password):  # type: ignore[no-untyped-def]
        created.append(username)
        return real(self, username, password)

    monkeypatch.setattr(AccountsGateway, "create_user", spy)
    for name in BAD:
        resp = api.post("/auth/guest", {"display_name": name})
        assert resp.status == 400, (name, resp.body)
        assert resp.json["details"]["field"] == "display_name"
    assert created == []
    ok = api.post("/auth/guest", {"display_name": "  Ace   Pilot "})
    assert ok.status == 201
    me = api.get("/players/me", headers={"Authorization": ok.json["id_token"]}).json
    assert me["display_name"] == "Ace Pilot"


def test_profile_and_admin_renames_share_the_rule(api, admin, new_player):
    player = new_player()
    for name in BAD:
        for path, caller in (("/players/me", player), (f"/admin/players/{player.player_id}", admin)):
            resp = api.patch(path, {"display_name": name}, player=caller)
            assert resp.status == 400, (path, name, resp.body)
            assert resp.json["details"]["field"] == "display_name"
    resp = api.patch(f"/admin/players/{player.player_id}", {"display_name": "Ёжик_42"}, player=admin)
    assert resp.status == 200 and resp.json["display_name"] == "Ёжик_42"
    assert api.get("/players/me", player=player).json["display_name"] == "Ёжик_42"
    assert api.patch("/admin/players/nobody-here", {"display_name": "Valid Name"}, player=admin).status == 404
    assert api.patch(f"/admin/players/{player.player_id}", {"display_name": "Valid"}, player=player).status == 403


def test_names_stored_before_the_rule_are_shown_safely(api, new_player):
    player = new_player()
    PlayersRepository().update_profile(player.player_id, display_name="<b>\u202eevil\u200b</b>")
    shown = api.get("/players/me", player=player).json["display_name"]
    assert shown.startswith("Player-") and "<" not in shown
    api.post("/leaderboards/daily_score/scores", {"score": 3}, player=player)
    entry = api.get("/leaderboards/daily_score/me", player=player).json["entry"]
    assert entry["display_name"] == shown
    ids = api.get(f"/leaderboards/daily_score/players?ids={player.player_id}", player=player).json["entries"]
    assert ids[0]["display_name"] == shown
