"""Boards fed by stats move exactly with them, under concurrency and failures."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from chalicelib.errors import Throttled
from chalicelib.game_config import get_game_config
from chalicelib.services import leaderboards, stats
from chalicelib.storage.leaderboards import Layout, LeaderboardsRepository
from chalicelib.storage.players import PlayersRepository


def _board_score(board_id: str, player_id: str) -> float:
    config = get_game_config()
    board = config.leaderboards[board_id]
    layout = Layout.of(board_id, board, leaderboards.periods.period_of(board.reset, leaderboards.system_clock()))
    entry = LeaderboardsRepository().get_entry(layout, player_id)
    return entry.score if entry else 0


def _kills(player_id: str) -> float:
    return stats.get_stats(player_id=player_id, config=get_game_config(), repo=PlayersRepository())["stats"]["kills"]


def _race(n: int, action: Any) -> tuple[int, list[BaseException]]:
    """Run `action` in n threads released together; how many succeeded, and the errors."""
    barrier = threading.Barrier(n)
    ok: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            action()
            ok.append(1)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(ok), errors


def test_concurrent_kills_move_the_fed_board_exactly(standin, new_player):
    player = new_player()
    config = get_game_config()

    def kill() -> None:
        stats.update_stats(
            player_id=player.player_id, updates={"kills": 1}, writer="client", config=config, repo=PlayersRepository()
        )

    succeeded, errors = _race(20, kill)
    # Whatever failed was told (a 503 with nothing applied); whatever succeeded moved both.
    assert all(isinstance(e, Throttled) for e in errors), errors
    assert succeeded >= 1
    assert _kills(player.player_id) == succeeded
    assert _board_score("weekly_kills", player.player_id) == succeeded


def test_concurrent_high_scores_leave_the_best_on_the_board(standin, new_player):
    player = new_player()
    config = get_game_config()
    scores = iter(range(100, 120))
    lock = threading.Lock()

    def submit() -> None:
        with lock:
            value = next(scores)
        stats.update_stats(
            player_id=player.player_id,
            updates={"high_score": value},
            writer="client",
            config=config,
            repo=PlayersRepository(),
        )

    succeeded, errors = _race(20, submit)
    assert succeeded == 20, errors
    assert _board_score("global", player.player_id) == 119


def test_a_board_that_cannot_take_the_change_refuses_the_whole_update(api, new_player, monkeypatch):
    """If the fed entry keeps moving, the client is told and neither the stat nor the board moved."""
    from chalicelib.errors import ConditionFailed

    player = new_player()
    assert api.post("/players/me/stats", {"updates": {"kills": 2}}, player=player).status == 200

    def always_conflict(self: Any, *args: Any, **kwargs: Any) -> None:
        raise ConditionFailed(reasons=["None", "ConditionalCheckFailed"])

    monkeypatch.setattr(PlayersRepository, "apply_stats_with", always_conflict)
    monkeypatch.setattr(stats, "FEED_ATTEMPTS", 3)
    resp = api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player)
    assert resp.status == 503, resp.body
    assert resp.json["details"]["applied"] is False
    monkeypatch.undo()
    assert _kills(player.player_id) == 2
    assert _board_score("weekly_kills", player.player_id) == 2


def test_a_busy_best_board_refuses_before_any_sum_is_applied(api, new_player, monkeypatch):
    player = new_player()
    from chalicelib.errors import Conflict

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise Conflict("the entry kept changing; retry")

    monkeypatch.setattr(leaderboards, "_apply", busy)
    resp = api.post("/players/me/stats", {"updates": {"kills": 1, "high_score": 50}}, player=player)
    assert resp.status == 503 and resp.json["details"]["applied"] is False
    monkeypatch.undo()
    view = api.get("/players/me/stats", player=player).json["stats"]
    assert view["kills"] == 0 and view["high_score"] == 0
    # The retry of the same request is then applied once.
    assert api.post("/players/me/stats", {"updates": {"kills": 1, "high_score": 50}}, player=player).status == 200
    assert _kills(player.player_id) == 1 and _board_score("weekly_kills", player.player_id) == 1
    assert _board_score("global", player.player_id) == 50


def test_a_stat_out_of_bounds_writes_neither_stat_nor_board(api, new_player):
    player = new_player()
    resp = api.post("/players/me/stats", {"updates": {"kills": -1}}, player=player)
    assert resp.status in (400, 403)
    assert _kills(player.player_id) == 0 and _board_score("weekly_kills", player.player_id) == 0


@pytest.mark.parametrize(("board", "score"), [("global", 99999), ("weekly_kills", 5), ("monthly_lap", 60.5)])
def test_direct_scores_to_a_fed_board_are_403(api, new_player, board, score):
    player = new_player()
    resp = api.post(f"/leaderboards/{board}/scores", {"score": score}, player=player)
    assert resp.status == 403, resp.body
    assert resp.json["code"] == "board_fed_by_stat"
    assert resp.json["details"]["source_stat"] == get_game_config().leaderboards[board].source_stat
    assert api.get(f"/leaderboards/{board}/me", player=player).json["entry"] is None


def test_a_board_declared_to_take_both_accepts_direct_scores(standin, new_player):
    config = get_game_config()
    board = dataclasses.replace(config.leaderboards["global"], direct_scores=True)
    player = new_player()
    result = leaderboards.submit_score(
        board_id="global",
        board=board,
        player_id=player.player_id,
        score=77,
        writer="client",
        repo=LeaderboardsRepository(),
        names=lambda ids: {},
    )
    assert result["entry"]["score"] == 77


def test_a_crossing_is_unlocked_when_another_update_lands_before_the_read_back(standin, new_player, monkeypatch):
    """A fed sum stat is written in a transaction, which returns no item: the item is read
    after it. If the same player's next update lands in between, the value read already
    holds it, so "value - delta" no longer tells whether this update crossed the target.
    The crossing must not be lost (first_blood and its reward, exactly once)."""
    player = new_player()
    config = get_game_config()
    real_get_stats = PlayersRepository.get_stats
    interleaved: list[bool] = []

    def get_stats_after_a_racing_update(self: PlayersRepository, player_id: str) -> Any:
        if not interleaved:
            interleaved.append(True)
            # The racing update: another kill, as a concurrent request would land it.
            stats.update_stats(
                player_id=player_id, updates={"kills": 1}, writer="client", config=config, repo=PlayersRepository()
            )
        return real_get_stats(self, player_id)

    monkeypatch.setattr(PlayersRepository, "get_stats", get_stats_after_a_racing_update)
    stats.update_stats(
        player_id=player.player_id, updates={"kills": 1}, writer="client", config=config, repo=PlayersRepository()
    )
    monkeypatch.undo()
    assert interleaved == [True]
    view = stats.get_stats(player_id=player.player_id, config=config, repo=PlayersRepository())["stats"]
    assert view["kills"] == 2
    assert view["xp"] == 50
