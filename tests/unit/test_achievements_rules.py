"""Achievement rules on the in-memory repositories: thresholds, incremental progress,
grants, rewards once, hidden achievements and rarity."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import Forbidden, Invalid, NotFound
from chalicelib.game_config import get_game_config
from chalicelib.services import achievements, notify
from chalicelib.services.hooks import StatChange
from chalicelib.storage.players import StatWrite
from tests.fakes import FakeAchievementsRepository, FakePlayersRepository

PLAYER = "player-1"
NOW = "2026-01-01T00:00:00Z"


@pytest.fixture
def players() -> FakePlayersRepository:
    return FakePlayersRepository()


@pytest.fixture
def repo(players: FakePlayersRepository) -> FakeAchievementsRepository:
    return FakeAchievementsRepository(players)


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """The notices sent and the stat changes announced (no inbox, no listeners here)."""
    seen: dict[str, list[Any]] = {"notices": [], "stat_changes": []}
    monkeypatch.setattr(notify, "send", seen["notices"].append)
    monkeypatch.setattr(achievements, "stat_changed", seen["stat_changes"].append)
    return seen


def set_stats(players: FakePlayersRepository, player_id: str = PLAYER, **values: float) -> None:
    players.apply_stats(player_id, [StatWrite(name, "latest", value) for name, value in values.items()], NOW)


def listing(repo: Any, players: Any, player_id: str = PLAYER) -> dict[str, Any]:
    return achievements.list_achievements(
        player_id=player_id, config=get_game_config(), repo=repo, players_repo=players
    )


def by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in result["achievements"]}


def progress(repo: Any, players: Any, ach: str, steps: int = 1, reporter: str = "client") -> dict[str, Any]:
    return achievements.report_progress(
        player_id=PLAYER,
        achievement_id=ach,
        steps=steps,
        reporter=reporter,  # type: ignore[arg-type]
        config=get_game_config(),
        repo=repo,
        players_repo=players,
    )


def stat_change(repo: Any, players: Any, player_id: str, deltas: dict[str, float], exact: bool = True) -> list[str]:
    """Apply sum deltas to the stats and tell achievements, as the stats service does."""
    players.apply_stats(player_id, [StatWrite(n, "sum", v) for n, v in deltas.items()], NOW)
    stored = players.get_stats(player_id)
    after = {n: stored.values[n] for n in deltas}
    return achievements.evaluate_stat_change(
        StatChange(player_id=player_id, changed=after, stats=after, deltas=deltas, exact=exact),
        config=get_game_config(),
        repo=repo,
        players_repo=players,
    )


def test_list_shows_progress_and_masks_hidden(repo, players, told):
    set_stats(players, matches_played=1)
    items = by_id(listing(repo, players))
    assert list(items) == list(get_game_config().achievements)
    veteran = items["veteran"]
    assert (veteran["progress"], veteran["target"], veteran["unlocked"]) == (1, 50, False)
    for hidden_id in ("speed_demon", "dev_friend"):
        hidden = items[hidden_id]
        assert hidden["hidden"] is True
        assert hidden["title"] is None and hidden["description"] is None
        assert hidden["progress"] is None and hidden["target"] is None and hidden["stat"] is None
    # A threshold already met is unlocked by the listing; unlocked, a hidden one shows itself.
    set_stats(players, best_lap_seconds=55.5)
    speed = by_id(listing(repo, players))["speed_demon"]
    assert speed["unlocked"] is True and speed["title"] == "Speed Demon" and speed["unlocked_at"]
    assert [n.data["achievement_id"] for n in told["notices"]] == ["speed_demon"]
    # Listing again unlocks nothing twice.
    listing(repo, players)
    assert len(told["notices"]) == 1


def test_threshold_unlocks_once_with_its_reward_and_notifies(repo, players, told):
    assert stat_change(repo, players, PLAYER, {"kills": 3}) == ["first_blood"]
    result = listing(repo, players)
    first = by_id(result)["first_blood"]
    assert first["unlocked"] is True and first["progress"] == 1
    assert result["unlocked_count"] == 1 and result["points_earned"] == 5
    assert players.get_stats(PLAYER).values["xp"] == 50
    (notice,) = told["notices"]
    assert (notice.kind, notice.dedupe_key, notice.data) == (
        "achievement_unlocked",
        "achievement:first_blood",
        {"achievement_id": "first_blood", "points": 5},
    )
    # The reward is a stat change too: the other listeners hear of it.
    (reward,) = told["stat_changes"]
    assert (reward.changed, reward.deltas) == ({"xp": 50}, {"xp": 50})
    # More kills: no second unlock, no second reward.
    assert stat_change(repo, players, PLAYER, {"kills": 3}) == []
    assert players.get_stats(PLAYER).values["xp"] == 50 and len(told["notices"]) == 1


def test_an_exact_change_only_unlocks_on_the_crossing(repo, players, told):
    set_stats(players, kills=5)  # reached before: an earlier update's hook would have unlocked it
    assert stat_change(repo, players, PLAYER, {"kills": 1}) == []
    # Not exact (another write may have landed): the record is read, and it is unlocked now.
    assert stat_change(repo, players, PLAYER, {"kills": 1}, exact=False) == ["first_blood"]
    assert stat_change(repo, players, PLAYER, {"kills": 1}, exact=False) == []


def test_a_reward_past_its_stat_bound_unlocks_without_it(repo, players, told):
    xp = get_game_config().stat("xp")
    assert xp is not None and xp.max is not None
    set_stats(players, xp=xp.max - 10)
    granted = achievements.grant(
        player_id=PLAYER, achievement_id="founder", config=get_game_config(), repo=repo, players_repo=players
    )
    assert granted["granted"] is True and granted["achievement"]["unlocked"] is True
    assert players.get_stats(PLAYER).values["xp"] == xp.max - 10
    assert told["stat_changes"] == [] and len(told["notices"]) == 1


def test_incremental_progress(repo, players, told):
    for _ in range(4):
        result = progress(repo, players, "tutorial_graduate")
        assert result["unlocked_now"] is False and result["applied"] is True
    assert result["achievement"]["progress"] == 4
    result = progress(repo, players, "tutorial_graduate", 3)
    assert result["unlocked_now"] is True
    assert result["achievement"]["progress"] == 5 and result["achievement"]["unlocked"]
    again = progress(repo, players, "tutorial_graduate")
    assert again["applied"] is False and again["unlocked_now"] is False
    assert again["achievement"]["progress"] == 5


@pytest.mark.parametrize(
    ("ach", "steps", "reporter", "error", "field"),
    [
        ("explorer", 2, "client", Invalid, "steps"),  # over max_step 1
        ("veteran", 1, "client", Invalid, "achievement_id"),  # a threshold
        ("founder", 1, "server", Invalid, "achievement_id"),  # manual
        ("tournament_champion", 1, "client", Forbidden, None),  # server-reported
        ("nope", 1, "server", NotFound, None),
    ],
)
def test_progress_refused_writes_nothing(repo, players, told, ach, steps, reporter, error, field):
    with pytest.raises(error) as refused:
        progress(repo, players, ach, steps, reporter)
    if field:
        assert refused.value.details == {"field": field}
    assert repo.records(PLAYER) == {}


def test_the_server_reports_what_clients_may_not(repo, players, told):
    assert progress(repo, players, "tournament_champion", 1, "server")["applied"] is True


def test_grant_once(repo, players, told):
    config = get_game_config()
    granted = achievements.grant(
        player_id=PLAYER, achievement_id="dev_friend", config=config, repo=repo, players_repo=players
    )
    assert granted["granted"] is True and granted["achievement"]["title"] == "Friend of the Devs"
    again = achievements.grant(
        player_id=PLAYER, achievement_id="dev_friend", config=config, repo=repo, players_repo=players
    )
    assert again["granted"] is False and len(told["notices"]) == 1
    with pytest.raises(NotFound):
        achievements.grant(player_id=PLAYER, achievement_id="nope", config=config, repo=repo, players_repo=players)
    assert by_id(listing(repo, players))["dev_friend"]["unlocked"] is True


def test_rarity_is_unlocks_over_players_counted(repo, players, told):
    ids = [f"p{i}" for i in range(4)]
    for p in ids:
        repo.count_player(p)
    for p in ids[:2]:
        for _ in range(10):
            achievements.report_progress(
                player_id=p,
                achievement_id="explorer",
                steps=1,
                reporter="client",
                config=get_game_config(),
                repo=repo,
                players_repo=players,
            )
    result = listing(repo, players, ids[3])
    assert result["players_counted"] == 4 and by_id(result)["explorer"]["rarity_percent"] == 50.0
    # An erased player leaves both counts.
    repo.erase_player(ids[0])
    result = listing(repo, players, ids[3])
    assert result["players_counted"] == 3 and by_id(result)["explorer"]["rarity_percent"] == round(100 / 3, 2)


def test_an_achievement_item_becomes_a_record():
    from chalicelib.storage.achievements import AchievementRecord, _record

    item = {
        "PK": "P#p1",
        "SK": "A#founder",
        "player_id": "p1",
        "achievement_id": "founder",
        "progress": 3,
        "unlocked_at": NOW,
        "updated_at": NOW,
        "reward_given": True,
    }
    assert _record("p1", "founder", item) == AchievementRecord(
        player_id="p1", achievement_id="founder", progress=3, unlocked_at=NOW, reward_given=True, updated_at=NOW
    )
    # Unlocked without a progress count (a manual grant): progress reads as 0, as views always took it.
    assert _record("p1", "dev_friend", {"unlocked_at": NOW, "reward_given": False}) == AchievementRecord(
        player_id="p1", achievement_id="dev_friend", unlocked_at=NOW
    )
