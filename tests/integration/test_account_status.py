"""Account status: a deleted or banned account's still-valid tokens are refused everywhere."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from chalicelib.api.examples import EXAMPLES
from chalicelib.api.http import ROUTES
from chalicelib.config import get_settings
from chalicelib.services import account_status
from chalicelib.storage import aws
from chalicelib.storage.players import PlayersRepository
from chalicelib.storage.schema import DATA

PARAM = re.compile(r"{([^}]+)}")


def protected_calls() -> list[tuple[str, str, Any]]:
    """Every route that has a caller, with its path parameters filled and an example body."""
    calls = []
    for doc in ROUTES:
        if doc.auth == "none" or (doc.method, doc.path) == ("DELETE", "/players/me"):
            continue
        path = PARAM.sub("x1", doc.path)
        body = EXAMPLES.get((doc.method, doc.path), {} if doc.method in ("POST", "PUT", "PATCH") else None)
        calls.append((doc.method, path, body))
    return calls


def items_mentioning(player_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every stored item of every table that names the player (a test-only scan of the stand-in)."""
    client = aws.dynamodb()
    found = []
    for table in DATA.tables:
        name = get_settings().table_name(table.key)
        kwargs: dict[str, Any] = {"TableName": name}
        while True:
            resp = client.scan(**kwargs)
            for item in resp["Items"]:
                if player_id in json.dumps(item):
                    found.append((table.key, item))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    # The deletion mark and the account's place in the second-erasure queue are kept.
    return [(t, i) for t, i in found if not i["PK"]["S"].startswith("ACCOUNT#") and i["PK"]["S"] != "ERASE_AGAIN"]


def test_every_route_refuses_a_deleted_accounts_token_and_writes_nothing(api, new_player):
    player = new_player()
    api.post("/players/me/stats", {"updates": {"kills": 3}}, player=player)
    assert api.delete("/players/me", player=player).status == 200
    calls = protected_calls()
    assert len(calls) > 40
    for method, path, body in calls:
        resp = api.call(method, path, body, player=player)
        assert resp.status == 401, (method, path, resp.body)
        assert resp.json["code"] == "account_deleted", (method, path)
    assert items_mentioning(player.player_id) == []
    assert PlayersRepository().get_profile(player.player_id) is None


def test_a_retried_deletion_finishes_and_answers_the_same(api, new_player):
    player = new_player()
    first = api.delete("/players/me", player=player)
    again = api.delete("/players/me", player=player)
    assert first.status == again.status == 200
    assert again.json["player_id"] == player.player_id and again.json["deleted"] is True
    assert api.get("/players/me", player=player).json["code"] == "account_deleted"


def test_a_deletion_interrupted_after_the_mark_is_finished_by_its_retry(api, new_player, monkeypatch):
    from chalicelib.services import erasure

    player = new_player()
    api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player)

    def fail(player_id: str) -> dict[str, int]:
        raise RuntimeError("store went away")

    monkeypatch.setattr(erasure, "erase_everything", fail)
    assert api.delete("/players/me", player=player).status == 500
    # Already refused, though nothing is erased yet.
    assert api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player).json["code"] == "account_deleted"
    monkeypatch.undo()
    assert api.delete("/players/me", player=player).status == 200
    assert items_mentioning(player.player_id) == []


def test_events_of_deleted_players_are_neither_stored_nor_counted(api, new_player):
    """Events are counted when they are stored (nothing counts from the stream): a deleted
    account's batch is refused before anything is written."""
    from tests.integration.events_helpers import make_event, stored_events

    kept, gone = new_player(), new_player()
    account_status.mark_deleted(player_id=gone.player_id, repo=PlayersRepository())
    refused = api.post("/events", {"events": [make_event()]}, player=gone)
    assert refused.status == 401 and refused.json["code"] == "account_deleted", refused.body
    assert api.post("/events", {"events": [make_event()]}, player=kept).json["accepted"] == 1
    assert stored_events(gone.player_id) == [] and len(stored_events(kept.player_id)) == 1


def ban(api, admin, player_id: str, reason: Any = "cheating", action: str = "ban") -> Any:
    return api.post(f"/admin/players/{player_id}/{action}", {"reason": reason}, player=admin)


def test_a_banned_account_is_refused_everywhere_until_unbanned(api, admin, new_player):
    player = new_player()
    api.post("/players/me/stats", {"updates": {"kills": 2}}, player=player)
    resp = ban(api, admin, player.player_id, "  impossible scores  ")
    assert resp.status == 200, resp.body
    assert resp.json["status"] == "banned" and resp.json["reason"] == "impossible scores"
    assert resp.json["changed_by"] == admin.player_id
    for method, path, body in protected_calls():
        got = api.call(method, path, body, player=player)
        assert got.status == 403, (method, path, got.body)
        assert got.json["code"] == "account_banned", (method, path)
    assert api.delete("/players/me", player=player).json["code"] == "account_banned"
    login = api.post("/auth/login", {"username": player.username, "password": player.password})
    assert login.status == 403 and login.json["code"] == "account_banned"
    refresh = api.post("/auth/refresh", {"refresh_token": player.refresh_token})
    assert refresh.status == 403 and refresh.json["code"] == "account_banned"
    assert PlayersRepository().get_stats(player.player_id).values["kills"] == 2  # nothing written
    status = api.get(f"/admin/players/{player.player_id}/status", player=admin)
    assert status.status == 200 and status.json["status"] == "banned"

    # Ban is idempotent; unban twice too; then everything works again.
    assert ban(api, admin, player.player_id).status == 200
    for _ in range(2):
        lifted = ban(api, admin, player.player_id, "appeal accepted", action="unban")
        assert lifted.status == 200 and lifted.json["status"] == "active"
    assert api.post("/auth/login", {"username": player.username, "password": player.password}).status == 200
    assert api.post("/auth/refresh", {"refresh_token": player.refresh_token}).status == 200
    assert api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player).status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "a\u202eb"}, "reason"),
        ({"reason": "x\x00"}, "reason"),
        ({"reason": "r" * 501}, "reason"),
        ({"reason": 5}, "reason"),
        ({"reason": "ok", "until": 1}, "until"),
    ],
)
def test_ban_reason_is_required_and_validated(api, admin, new_player, body, field):
    player = new_player()
    for action in ("ban", "unban"):
        resp = api.post(f"/admin/players/{player.player_id}/{action}", body, player=admin)
        assert resp.status == 400, (action, body, resp.body)
        assert resp.json["details"]["field"] == field
    assert api.get(f"/admin/players/{player.player_id}/status", player=admin).json["status"] == "active"


def test_ban_needs_an_admin_a_known_player_and_an_account_not_deleted(api, admin, new_player):
    player, other = new_player(), new_player()
    resp = ban(api, admin, player.player_id, action="ban")
    assert resp.status == 200
    resp = api.post(f"/admin/players/{other.player_id}/ban", {"reason": "x"}, player=other)
    assert resp.status == 403 and resp.json["code"] == "not_admin"
    assert ban(api, admin, "no-such-player").status == 404
    assert api.delete("/players/me", player=other).status == 200
    for action in ("ban", "unban"):
        resp = ban(api, admin, other.player_id, action=action)
        assert resp.status == 409 and resp.json["code"] == "account_deleted"
        assert resp.json["details"]["status"] == "deleted"


def test_a_write_that_passed_its_check_before_the_deletion_is_erased_by_the_second_erasure(api, new_player):
    """A request checks the account when it starts; one that started just before the
    deletion can write after the first erasure (here: its stat update and its score land
    late). The second erasure, once no such request can still run, removes what it wrote."""
    from chalicelib import composition
    from chalicelib.game_config import get_game_config
    from chalicelib.services import players, stats

    player = new_player()
    api.post("/players/me/stats", {"updates": {"kills": 3}}, player=player)
    assert api.delete("/players/me", player=player).status == 200
    assert items_mentioning(player.player_id) == []
    # The in-flight request's writes (it passed the account check before the deletion).
    stats.update_stats(
        player_id=player.player_id,
        updates={"kills": 1, "high_score": 70},
        writer="client",
        config=get_game_config(),
        repo=PlayersRepository(),
    )
    resurrected = items_mentioning(player.player_id)
    assert {t for t, _ in resurrected} >= {"players", "leaderboards"}

    repo = PlayersRepository()
    deleted_at = time.time()
    delay = players.erase_again_delay(get_game_config())
    assert delay >= players.REQUEST_BOUND_SECONDS + get_game_config().saves.upload_url_seconds
    # Not yet due: nothing is erased (a request of the account may still be running).
    assert player.player_id not in composition.erase_deleted_accounts_again(lambda: deleted_at + 1)
    assert items_mentioning(player.player_id) == resurrected
    # Due: erased, and taken off the queue (a second run does nothing for it).
    later = deleted_at + delay + 5
    assert player.player_id in composition.erase_deleted_accounts_again(lambda: later)
    assert items_mentioning(player.player_id) == []
    assert player.player_id not in composition.erase_deleted_accounts_again(lambda: later)
    assert all(pid != player.player_id for _, pid in repo.erasures_due("9999", 1000))


def _entries_of(player_id: str) -> list[tuple[str, str]]:
    from chalicelib.storage.leaderboards import LeaderboardsRepository

    return [(board, period) for board, period, _ in LeaderboardsRepository().player_entries(player_id)]


def _late_score(player_id: str) -> None:
    """What a score request that passed its account check just before the ban writes."""
    from chalicelib.game_config import get_game_config
    from chalicelib.services import leaderboards
    from chalicelib.storage.leaderboards import LeaderboardsRepository

    config = get_game_config()
    leaderboards.submit_score(
        board_id="daily_score",
        board=config.leaderboards["daily_score"],
        player_id=player_id,
        score=999_999,
        writer="client",
        repo=LeaderboardsRepository(),
        names=lambda ids: {},
        rank=False,
    )


def test_a_score_that_lands_after_the_ban_is_removed_by_the_second_pass(api, admin, new_player):
    """A ban removes the player's entries, but a score request that passed its account
    check just before can still write one. The ban queues a second removal, run by the
    erase-again job once no such request can still be running."""
    from chalicelib import composition
    from chalicelib.services import players

    player = new_player()
    assert api.post("/leaderboards/daily_score/scores", {"score": 10}, player=player).status == 200
    banned_at = time.time()
    resp = ban(api, admin, player.player_id)
    assert resp.status == 200 and resp.json["leaderboard_entries_removed"] == 1
    _late_score(player.player_id)
    assert _entries_of(player.player_id) == [("daily_score", _entries_of(player.player_id)[0][1])]

    repo = PlayersRepository()
    job = composition.erase_deleted_accounts_again
    # Not due yet: a score request of the player may still be running.
    early = players.erase_again_job(repo=repo, remove_entries=lambda p: 0, clock=lambda: banned_at + 1)
    assert player.player_id not in early
    due = players.remove_entries_again_at(banned_at) + 5
    assert player.player_id in job(lambda: due)  # the scheduled job, as deployed
    assert _entries_of(player.player_id) == []
    assert api.get("/players/me", player=player).status == 403  # still banned


def test_an_account_unbanned_before_the_second_pass_keeps_its_new_scores(api, admin, new_player):
    from chalicelib.services import players

    player = new_player()
    banned_at = time.time()
    assert ban(api, admin, player.player_id).status == 200
    assert ban(api, admin, player.player_id, action="unban").status == 200
    assert api.post("/leaderboards/daily_score/scores", {"score": 10}, player=player).status == 200
    removed: list[str] = []
    due = players.remove_entries_again_at(banned_at) + 5

    def remove(player_id: str) -> int:
        removed.append(player_id)
        return 0

    assert player.player_id in players.erase_again_job(
        repo=PlayersRepository(), remove_entries=remove, clock=lambda: due
    )
    assert player.player_id not in removed
    assert len(_entries_of(player.player_id)) == 1
