"""Matchmaking routes through chalice.test.Client on the stand-in."""

from __future__ import annotations

import pytest

from chalicelib.storage.players import PlayersRepository, StatWrite


@pytest.fixture
def rated(new_player):
    """A new guest whose server-side rating is set (the game server's write)."""

    def make(rating: float):
        player = new_player()
        PlayersRepository().apply_stats(player.player_id, [StatWrite("rating", "latest", rating)], "2024-01-01")
        return player

    return make


def _create(api, player, **body):
    return api.post("/matchmaking/tickets", {"queue": "duel", "region": "ap-northeast-1", **body}, player=player)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"queue": "nope", "region": "us-east-1"}, "queue"),
        ({"queue": "duel", "region": "mars-1"}, "region"),
        ({"queue": "duel"}, "region"),
        ({"queue": "duel", "region": "us-east-1", "skill": 9999}, "skill"),
        ({"queue": "duel", "region": "us-east-1", "party": ["someone"]}, "party"),
        ({"queue": "squads", "region": "us-east-1", "party": ["a", "b"]}, "party"),
        ({"queue": "squads", "region": "us-east-1", "party": ["bad id!"]}, "party.0"),
        ({"queue": "x" * 41, "region": "us-east-1"}, "queue"),
    ],
)
def test_bad_create_is_400_naming_the_field_and_writes_nothing(api, new_player, body, field):
    player = new_player()
    resp = api.post("/matchmaking/tickets", body, player=player)
    assert resp.status == 400, resp.body
    assert resp.json["details"]["field"] == field
    # Nothing was written: the player can still create a ticket.
    ok = _create(api, player)
    assert ok.status == 201, ok.body
    api.delete(f"/matchmaking/tickets/{ok.json['ticket_id']}", player=player)


def test_create_poll_second_create_409_and_cancel(api, rated):
    player, other = rated(4900), rated(100)
    resp = _create(api, player)
    assert resp.status == 201, resp.body
    ticket = resp.json
    assert ticket["status"] == "searching" and ticket["members"] == [player.player_id]

    again = _create(api, player)
    assert again.status == 409
    assert again.json["details"]["ticket_id"] == ticket["ticket_id"]

    assert api.get(f"/matchmaking/tickets/{ticket['ticket_id']}", player=other).status == 404
    assert api.delete(f"/matchmaking/tickets/{ticket['ticket_id']}", player=other).status == 404
    assert api.get("/matchmaking/tickets/not-a-ticket", player=player).status == 404

    polled = api.get(f"/matchmaking/tickets/{ticket['ticket_id']}", player=player)
    assert polled.status == 200 and polled.json["status"] == "searching"
    assert polled.json["skill_window"] >= 50

    cancelled = api.delete(f"/matchmaking/tickets/{ticket['ticket_id']}", player=player)
    assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
    assert api.get(f"/matchmaking/tickets/{ticket['ticket_id']}", player=player).json["status"] == "cancelled"
    # Cancelled is not active: a new ticket may be created.
    new = _create(api, player)
    assert new.status == 201
    api.delete(f"/matchmaking/tickets/{new.json['ticket_id']}", player=player)


def test_two_close_players_match_and_only_they_see_the_match(api, rated, new_player):
    first, second, stranger = rated(2500), rated(2510), new_player()
    a = _create(api, first, region="eu-west-1").json
    b = _create(api, second, region="eu-west-1")
    assert b.status == 201
    assert b.json["status"] == "matched", b.body
    match = b.json["match"]
    assert sorted(match["players"]) == sorted([first.player_id, second.player_id])
    assert len(match["teams"]) == 2 and all(len(team) == 1 for team in match["teams"])

    polled = api.get(f"/matchmaking/tickets/{a['ticket_id']}", player=first).json
    assert polled["status"] == "matched" and polled["match"]["match_id"] == match["match_id"]
    assert api.get(f"/matchmaking/matches/{match['match_id']}", player=first).status == 200
    assert api.get(f"/matchmaking/matches/{match['match_id']}", player=stranger).status == 404
    # Once matched, cancelling is a conflict carrying the match.
    late = api.delete(f"/matchmaking/tickets/{a['ticket_id']}", player=first)
    assert late.status == 409 and late.json["details"]["match"]["match_id"] == match["match_id"]
    # The next search in that queue and region has an estimate from recent matches.
    third = rated(100)
    est = _create(api, third, region="eu-west-1").json
    assert est["estimated_wait_seconds"] is not None
    api.delete(f"/matchmaking/tickets/{est['ticket_id']}", player=third)


def test_party_needs_every_member_to_join_with_their_own_token(api, rated, new_player):
    leader, member, outsider = rated(3500), rated(3520), new_player()
    resp = api.post(
        "/matchmaking/tickets", {"queue": "squads", "region": "eu-west-1", "party": [member.player_id]}, player=leader
    )
    assert resp.status == 201, resp.body
    ticket = resp.json
    assert ticket["status"] == "forming" and ticket["joined"] == [leader.player_id]
    tid = ticket["ticket_id"]
    assert api.post(f"/matchmaking/tickets/{tid}/join", player=outsider).status == 404
    joined = api.post(f"/matchmaking/tickets/{tid}/join", player=member)
    assert joined.status == 200, joined.body
    assert joined.json["status"] == "searching"
    assert sorted(joined.json["joined"]) == sorted([leader.player_id, member.player_id])
    # The member now has an active ticket: their own create answers 409 with the party's.
    mine = api.post("/matchmaking/tickets", {"queue": "duel", "region": "eu-west-1"}, player=member)
    assert mine.status == 409 and mine.json["details"]["ticket_id"] == tid
    assert api.delete(f"/matchmaking/tickets/{tid}", player=member).json["status"] == "cancelled"


def test_config_lists_queues(api, new_player):
    resp = api.get("/config", player=new_player())
    assert resp.status == 200
    assert resp.json["queues"]["duel"]["teams"] == 2


def test_seed_matchmaking_route(api, rated):
    first, second = rated(1800), rated(1800)
    env = {
        "functionName": "matchmaking",
        "playerId": "ignored",
        "payload": {"game_mode": "standard", "skill_level": 99999, "region": "eu-west-1"},
    }
    one = api.post("/matchmaking", env, player=first)
    assert one.status == 200, one.body
    assert one.json["status"] == "searching" and one.json["game_mode"] == "standard"
    assert one.json["estimated_wait_time"] >= 0 and one.json["request_id"]
    two = api.post("/matchmaking", env, player=second).json
    assert two["status"] == "match_found" and two["opponent_id"] == first.player_id
    # The first client's next call reports the same match.
    again = api.post("/matchmaking", env, player=first).json
    assert again == {**two, "opponent_id": second.player_id}
    bad = api.post("/matchmaking", {"payload": {"game_mode": "nope"}}, player=first)
    assert bad.status == 400 and "error" in bad.json


def test_account_deletion_cancels_and_erases_tickets(api, rated):
    player, partner = rated(4000), rated(4000)
    tid = api.post(
        "/matchmaking/tickets", {"queue": "squads", "region": "us-east-1", "party": [player.player_id]}, player=partner
    ).json["ticket_id"]
    assert api.post(f"/matchmaking/tickets/{tid}/join", player=player).status == 200
    resp = api.delete("/players/me", player=player)
    assert resp.status == 200, resp.body
    assert resp.json["erased"]["matchmaking"] >= 1
    # The party the deleted player was in was cancelled, not left searching.
    assert api.get(f"/matchmaking/tickets/{tid}", player=partner).json["status"] == "cancelled"
