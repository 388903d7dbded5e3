"""Leaderboard routes through chalice.test.Client on the stand-in."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from chalicelib.game_config import get_game_config

# Scores above anything other tests of the session submit (they stay below 99,000,000),
# so absolute ranks can be asserted on the shared boards. schemathesis runs last.
TOP = 99_998_000


def _submit(api, player, board, score):
    return api.post(f"/leaderboards/{board}/scores", {"score": score}, player=player)


def test_list_boards_shows_periods_and_resets(api, new_player):
    resp = api.get("/leaderboards", player=new_player())
    assert resp.status == 200, resp.body
    boards = {b["id"]: b for b in resp.json["leaderboards"]}
    assert set(boards) == set(get_game_config().leaderboards)
    assert boards["global"]["current_period"] == "all" and boards["global"]["next_reset_at"] is None
    assert "-W" in boards["weekly_kills"]["current_period"]
    assert boards["daily_score"]["next_reset_at"].endswith("T00:00:00.000Z")
    assert "counter_shards" not in boards["global"]


def test_submit_top_me_and_players(api, new_player):
    # Other files on this stand-in may hold higher scores on the board: ranks are checked
    # relative to the place b takes (nothing else sits between TOP+500 and TOP+900).
    a, b, c = new_player(), new_player(), new_player()
    assert api.patch("/players/me", {"display_name": "Alice A"}, player=a).status == 200
    r = _submit(api, a, "daily_score", TOP + 500)
    assert r.status == 200, r.body
    assert r.json["entry"]["display_name"] == "Alice A"
    first = r.json["entry"]["rank"]
    # b goes ahead of a, into the place a had
    assert _submit(api, b, "daily_score", TOP + 900).json["entry"]["rank"] == first
    # best mode: a worse score leaves the entry as it is
    worse = _submit(api, b, "daily_score", 10)
    assert worse.json["changed"] is False and worse.json["entry"]["score"] == TOP + 900
    # a tie: c reached 500 after a, so is listed after a and shares a's rank
    assert _submit(api, c, "daily_score", TOP + 500).json["entry"]["rank"] == first + 1

    me = api.get("/leaderboards/daily_score/me?around=1", player=a).json
    assert me["entry"]["rank"] == first + 1
    assert [e["player_id"] for e in me["entries"]] == [b.player_id, a.player_id, c.player_id]
    assert [e["rank"] for e in me["entries"]] == [first, first + 1, first + 1]

    ids = ",".join([c.player_id, a.player_id, "nobody"])
    friends = api.get(f"/leaderboards/daily_score/players?ids={ids}", player=b).json
    assert [(e["player_id"], e["rank"]) for e in friends["entries"]] == [
        (a.player_id, first + 1),
        (c.player_id, first + 1),
    ]


def test_unknown_board_is_404(api, new_player):
    p = new_player()
    for resp in (
        api.get("/leaderboards/nope", player=p),
        api.get("/leaderboards/nope/me", player=p),
        _submit(api, p, "nope", 1),
        api.get("/leaderboards/nope/periods", player=p),
    ):
        assert resp.status == 404, resp.body
        assert resp.json["code"] == "unknown_board"


def test_bad_scores_are_400_and_write_nothing(api, new_player):
    p = new_player()
    cases = [
        (b'{"score": NaN}', "body"),
        (b'{"score": Infinity}', "body"),
        (b'{"score": 1e400}', "score"),
        (b'{"score": -1}', "score"),
        (b'{"score": 100000001}', "score"),
        (b'{"score": 1.5}', "score"),
        (b'{"score": "12"}', "score"),
        (b'{"score": true}', "score"),
        (b'{"score": 1, "extra": 2}', "extra"),
        (b"{}", "score"),
    ]
    for raw, field in cases:
        resp = api.post("/leaderboards/daily_score/scores", raw=raw, player=p)
        assert resp.status == 400, (raw, resp.body)
        assert resp.json["details"]["field"] == field, (raw, resp.json)
    from chalicelib.errors import Invalid
    from chalicelib.services import leaderboards
    from chalicelib.storage.leaderboards import LeaderboardsRepository

    lap_board = dataclasses.replace(get_game_config().leaderboards["monthly_lap"], direct_scores=True)
    with pytest.raises(Invalid, match="decimals"):
        leaderboards.submit_score(
            board_id="monthly_lap",
            board=lap_board,
            player_id=p.player_id,
            score=61.0001,
            writer="client",
            repo=LeaderboardsRepository(),
            names=lambda ids: {},
        )
    assert api.get("/leaderboards/daily_score/me", player=p).json["entry"] is None


def test_sum_boards_cap_the_change_and_keep_their_bounds(standin, new_player):
    """A sum board open to direct scores (weekly_kills, declared to take both)."""
    from chalicelib.errors import Invalid
    from chalicelib.services import leaderboards
    from chalicelib.storage.leaderboards import LeaderboardsRepository

    board = dataclasses.replace(get_game_config().leaderboards["weekly_kills"], direct_scores=True)
    p = new_player()

    def submit(score: float) -> dict:
        return leaderboards.submit_score(
            board_id="weekly_kills",
            board=board,
            player_id=p.player_id,
            score=score,
            writer="client",
            repo=LeaderboardsRepository(),
            names=lambda ids: {},
        )

    for score in (101, -5):  # over the cap; below 0
        with pytest.raises(Invalid):
            submit(score)
    assert submit(7)["entry"]["score"] == 7


def test_client_submit_to_server_only_board_is_403(api, new_player):
    p = new_player()
    resp = _submit(api, p, "rating", 1200)
    assert resp.status == 403
    assert resp.json["code"] == "server_only_board"


def test_limit_is_capped_and_cursor_pages(api, new_player):
    players = [new_player() for _ in range(5)]
    for i, p in enumerate(players):
        assert api.post("/players/me/stats", {"updates": {"kills": 10 + i}}, player=p).status == 200
    resp = api.get("/leaderboards/weekly_kills?limit=100000", player=players[0])
    assert resp.status == 200, resp.body
    assert len(resp.json["entries"]) <= 100
    seen, cursor = [], None
    while True:
        path = "/leaderboards/weekly_kills?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path, player=players[0]).json
        seen.extend(page["entries"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == page["total_entries"]
    scores = [e["score"] for e in seen]
    assert scores == sorted(scores, reverse=True)
    assert [e["rank"] for e in seen] == [1 + sum(1 for o in scores if o > s) for s in scores]


def test_tampered_cursor_is_400(api, new_player):
    p = new_player()
    api.post("/players/me/stats", {"updates": {"high_score": 5}}, player=p)
    api.post("/players/me/stats", {"updates": {"high_score": 6}}, player=new_player())
    page = api.get("/leaderboards/global?limit=1", player=p).json
    cursor = page["next_cursor"]
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    forged = [
        "garbage!!",
        cursor[:-3],
        base64.urlsafe_b64encode(json.dumps({**data, "b": "daily_score"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({**data, "after": "x' OR 1"}).encode()).decode(),
        base64.urlsafe_b64encode(b"[1,2]").decode(),
    ]
    for bad in forged:
        resp = api.get(f"/leaderboards/global?limit=1&cursor={bad}", player=p)
        assert resp.status == 400, (bad, resp.body)
        assert resp.json["details"]["field"] == "cursor"
    assert api.get("/leaderboards/daily_score?cursor=" + cursor, player=p).status == 400


def test_bad_query_values_are_400(api, new_player):
    p = new_player()
    for path, field in [
        ("/leaderboards/global?limit=0", "limit"),
        ("/leaderboards/global?limit=ten", "limit"),
        ("/leaderboards/global/me?around=-1", "around"),
        ("/leaderboards/global?period=2026-11-24", "period"),
        ("/leaderboards/daily_score?period=2026-13-01", "period"),
        ("/leaderboards/weekly_kills/me?period=2026-11", "period"),
        ("/leaderboards/global/players?ids=", "ids"),
        ("/leaderboards/global/players?ids=" + ",".join(f"p{i}" for i in range(101)), "ids"),
        ("/leaderboards/global?bogus=1", "bogus"),
    ]:
        resp = api.get(path, player=p)
        assert resp.status == 400, (path, resp.body)
        assert resp.json["details"]["field"] == field, (path, resp.json)


def test_stat_update_feeds_boards(api, new_player):
    p = new_player()
    assert api.post("/players/me/stats", {"updates": {"high_score": 777, "kills": 7}}, player=p).status == 200
    assert api.post("/players/me/stats", {"updates": {"kills": 5}}, player=p).status == 200
    assert api.get("/leaderboards/global/me", player=p).json["entry"]["score"] == 777
    assert api.get("/leaderboards/weekly_kills/me", player=p).json["entry"]["score"] == 12


def test_seed_leaderboard_route(api, new_player):
    p = new_player()
    assert api.post("/players/me/stats", {"updates": {"high_score": 100_000_000}}, player=p).status == 200
    body = {
        "functionName": "leaderboard",
        "playerId": "spoofed",
        "payload": {"leaderboard_type": "global", "limit": 500, "player_id": "spoofed"},
        "timestamp": 1,
    }
    resp = api.post("/leaderboard", body, player=p)
    assert resp.status == 200, resp.body
    data = resp.json
    assert set(data) == {"leaderboard", "player_rank", "leaderboard_type", "total_entries"}
    assert data["leaderboard_type"] == "global" and data["player_rank"] == 1
    first = data["leaderboard"][0]
    assert set(first) == {"rank", "player_id", "player_name", "score", "last_updated"}
    assert first["player_id"] == p.player_id and first["rank"] == 1
    assert len(data["leaderboard"]) <= 100
    missing = api.post("/leaderboard", {"payload": {"leaderboard_type": "nope"}}, player=p)
    assert missing.status == 404 and "error" in missing.json
    bad = api.post("/leaderboard", {"payload": {"limit": "lots"}}, player=p)
    assert bad.status == 400 and bad.json["details"]["field"] == "payload.limit"


def test_account_deletion_removes_entries_and_fixes_counts(api, new_player):
    a, b = new_player(), new_player()
    _submit(api, a, "daily_score", 42_000_000)
    _submit(api, b, "daily_score", 41_000_000)
    before = api.get("/leaderboards/daily_score/me", player=b).json
    assert api.delete("/players/me", player=a).status == 200
    after = api.get("/leaderboards/daily_score/me", player=b).json
    assert after["entry"]["rank"] == before["entry"]["rank"] - 1
    assert after["total_entries"] == before["total_entries"] - 1
    ids = api.get(f"/leaderboards/daily_score/players?ids={a.player_id}", player=b).json
    assert ids["entries"] == []
