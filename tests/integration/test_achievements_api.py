"""Achievements through the routes and the stats hook, on the stand-in."""

from __future__ import annotations

import threading

import boto3

from chalicelib.config import get_settings
from chalicelib.errors import Throttled
from chalicelib.game_config import get_game_config
from chalicelib.services import achievements, stats
from chalicelib.storage.achievements import AchievementsRepository
from chalicelib.storage.players import PlayersRepository


def _by_id(listing):
    return {a["id"]: a for a in listing["achievements"]}


def _resent_until_applied(fn):
    """As a client does with a 503: a stat update whose board entry kept changing under the
    player's other updates was not applied at all, so it is sent again."""
    for _ in range(200):
        try:
            return fn()
        except Throttled:
            continue
    raise AssertionError("never applied")


def _run_threads(n, fn):
    barrier = threading.Barrier(n)
    errors = []

    def work(i):
        try:
            barrier.wait()
            fn(i)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_listing_and_config_through_the_routes(api, new_player):
    """Progress, hidden and unlock rules are in tests/unit/test_achievements_rules.py."""
    player = new_player()
    resp = api.post("/players/me/stats", {"updates": {"best_lap_seconds": 55.5}}, player=player)
    assert resp.status == 200, resp.body
    resp = api.get("/achievements", player=player)
    assert resp.status == 200, resp.body
    items = _by_id(resp.json)
    assert list(items) == list(get_game_config().achievements)
    assert items["speed_demon"]["unlocked"] is True and items["speed_demon"]["title"] == "Speed Demon"
    assert items["dev_friend"]["title"] is None
    # /config never shows hidden ones.
    config = api.get("/config", player=player).json
    assert "speed_demon" not in config["achievements"] and "veteran" in config["achievements"]


def test_threshold_unlocks_with_reward_and_notifies(api, new_player):
    player = new_player()
    resp = api.post("/players/me/stats", {"updates": {"kills": 3}}, player=player)
    assert resp.status == 200
    listing = api.get("/achievements", player=player).json
    first = _by_id(listing)["first_blood"]
    assert first["unlocked"] is True and first["progress"] == 1
    assert listing["unlocked_count"] == 1 and listing["points_earned"] == 5
    assert api.get("/players/me/stats", player=player).json["stats"]["xp"] == 50
    # More kills: no second reward.
    api.post("/players/me/stats", {"updates": {"kills": 3}}, player=player)
    assert api.get("/players/me/stats", player=player).json["stats"]["xp"] == 50


def test_twenty_concurrent_updates_unlock_once_and_reward_once(standin, new_player):
    config = get_game_config()
    repo = PlayersRepository()
    player = new_player()
    # high_score is a max stat: every one of the 20 updates meets the target, so all race.
    _run_threads(
        20,
        lambda i: _resent_until_applied(
            lambda: stats.update_stats(
                player_id=player.player_id,
                updates={"high_score": 10_000 + i},
                writer="client",
                config=config,
                repo=repo,
            )
        ),
    )
    assert repo.get_stats(player.player_id).values["xp"] == 1000
    records = AchievementsRepository().records(player.player_id)
    assert records["high_roller"].unlocked_at and records["high_roller"].reward_given is True
    # And 20 sum updates, each big enough to cross first_blood's target together.
    other = new_player()
    # kills feeds the weekly_kills sum board in the same transaction: under contention an
    # update may be refused whole (503, nothing written); the client resends it.
    _run_threads(
        20,
        lambda i: _resent_until_applied(
            lambda: stats.update_stats(
                player_id=other.player_id, updates={"kills": 5}, writer="client", config=config, repo=repo
            )
        ),
    )
    stored = repo.get_stats(other.player_id).values
    assert stored["kills"] == 100 and stored["xp"] == 50 + 500  # first_blood and centurion, once each


def test_concurrent_grants_unlock_once(standin, new_player):
    player = new_player()
    outcomes = []
    deps = {"config": get_game_config(), "repo": AchievementsRepository(), "players_repo": PlayersRepository()}
    _run_threads(
        20,
        lambda i: outcomes.append(
            achievements.grant(player_id=player.player_id, achievement_id="founder", **deps)["granted"]
        ),
    )
    assert outcomes.count(True) == 1
    assert PlayersRepository().get_stats(player.player_id).values["xp"] == 2000


def test_progress_bad_input_is_400_and_writes_nothing(api, new_player):
    player = new_player()
    cases = [
        ("/achievements/explorer/progress", {"steps": 2}, 400, "steps"),  # over max_step 1
        ("/achievements/explorer/progress", {"steps": 0}, 400, "steps"),
        ("/achievements/explorer/progress", {"steps": "1"}, 400, "steps"),
        ("/achievements/explorer/progress", {"steps": 1.5}, 400, "steps"),
        ("/achievements/explorer/progress", {"steps": 1, "player_id": "x"}, 400, "player_id"),
        ("/achievements/veteran/progress", {"steps": 1}, 400, "achievement_id"),
        ("/achievements/founder/progress", {"steps": 1}, 400, "achievement_id"),
        ("/achievements/tournament_champion/progress", {"steps": 1}, 403, None),
        ("/achievements/nope/progress", {"steps": 1}, 404, None),
    ]
    for path, body, status, field in cases:
        resp = api.post(path, body, player=player)
        assert resp.status == status, (path, body, resp.body)
        if field:
            assert resp.json["details"]["field"] == field, resp.json
    assert AchievementsRepository().records(player.player_id) == {}


def test_admin_grant(api, new_player, admin):
    player = new_player()
    resp = api.post("/admin/achievements/dev_friend/grant", {"player_id": player.player_id}, player=player)
    assert resp.status == 403
    resp = api.post("/admin/achievements/dev_friend/grant", {"player_id": player.player_id}, player=admin)
    assert resp.status == 200, resp.body
    assert resp.json["granted"] is True and resp.json["achievement"]["title"] == "Friend of the Devs"
    again = api.post("/admin/achievements/dev_friend/grant", {"player_id": player.player_id}, player=admin)
    assert again.json["granted"] is False
    assert api.post("/admin/achievements/dev_friend/grant", {"player_id": "nobody"}, player=admin).status == 404
    assert api.post("/admin/achievements/nope/grant", {"player_id": player.player_id}, player=admin).status == 404
    assert api.post("/admin/achievements/dev_friend/grant", {}, player=admin).status == 400
    assert _by_id(api.get("/achievements", player=player).json)["dev_friend"]["unlocked"] is True


def _scan_count(table, **filters):
    client = boto3.client("dynamodb")
    kwargs = {"TableName": get_settings().table_name(table), **filters}
    total = 0
    while True:
        resp = client.scan(**kwargs)
        total += resp["Count"]
        if "LastEvaluatedKey" not in resp:
            return total
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def test_rarity_matches_a_count(api, new_player, admin):
    players = [new_player() for _ in range(4)]
    for p in players[:3]:
        assert api.post("/achievements/explorer/progress", {"steps": 1}, player=p).status == 200
    for p in players[:2]:
        for _ in range(9):
            api.post("/achievements/explorer/progress", {"steps": 1}, player=p)
    # Delete one player who unlocked it: both counts must drop.
    assert api.delete("/players/me", player=players[0]).status == 200
    profiles = _scan_count(
        "players",
        FilterExpression="SK = :p",
        ExpressionAttributeValues={":p": {"S": "PROFILE"}},
    )
    unlocked = _scan_count(
        "achievements",
        FilterExpression="SK = :a AND attribute_exists(unlocked_at)",
        ExpressionAttributeValues={":a": {"S": "A#explorer"}},
    )
    listing = api.get("/achievements", player=players[1]).json
    assert listing["players_counted"] == profiles
    assert _by_id(listing)["explorer"]["rarity_percent"] == round(100 * unlocked / profiles, 2)
    assert unlocked >= 1


def test_seed_route(api, new_player):
    player = new_player()
    envelope = {"functionName": "achievements", "playerId": "someone-else", "payload": {}}
    resp = api.post("/achievements", envelope, player=player)
    assert resp.status == 200 and resp.json["player_id"] == player.player_id
    envelope["payload"] = {"action": "progress", "achievement_id": "explorer"}
    resp = api.post("/achievements", envelope, player=player)
    assert resp.status == 200 and resp.json["achievement"]["progress"] == 1
    envelope["payload"] = {"action": "get", "achievement_id": "explorer"}
    assert api.post("/achievements", envelope, player=player).json["achievement"]["progress"] == 1
    envelope["payload"] = {"action": "dance"}
    resp = api.post("/achievements", envelope, player=player)
    assert resp.status == 400 and resp.json["details"]["field"] == "payload.action"


def test_account_deletion_erases_achievements(api, new_player):
    player = new_player()
    api.post("/achievements/explorer/progress", {"steps": 1}, player=player)
    api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player)
    resp = api.delete("/players/me", player=player)
    assert resp.status == 200
    assert resp.json["erased"]["achievements"] >= 3  # two records and the counted marker
    assert AchievementsRepository().records(player.player_id) == {}


def test_a_rewards_stat_change_is_marked_inexact_because_it_is_read_after_the_transaction(
    standin, new_player, monkeypatch
):
    """The reward lands in the unlock's transaction, which returns no item; the value its
    listeners get is read afterwards and may hold later updates. A listener that derives
    "before" as value minus delta would then miss a threshold the reward crossed, so the
    change must say it is not exact."""
    player = new_player()
    seen = []
    real = achievements.stat_changed

    def capture(change):
        seen.append(change)
        return real(change)

    monkeypatch.setattr(achievements, "stat_changed", capture)
    resp = stats.update_stats(
        player_id=player.player_id,
        updates={"kills": 1},
        writer="client",
        config=get_game_config(),
        repo=PlayersRepository(),
    )
    assert resp["unlocked"] == ["first_blood"]
    rewards = [c for c in seen if "xp" in c.deltas]
    assert len(rewards) == 1 and rewards[0].deltas == {"xp": 50}
    assert rewards[0].exact is False
