"""Leaderboard pure logic: config checks, periods, order keys, counter deltas, caps."""

from __future__ import annotations

import json

import pytest

from chalicelib.game_config import GAME_CONFIG_PATH, GameConfigError, parse_game_config
from chalicelib.game_config.schema import BoardDef
from chalicelib.services import leaderboards as lb
from chalicelib.services import periods
from chalicelib.storage.leaderboards import Layout, counter_deltas


def _raw() -> dict:
    return json.loads(GAME_CONFIG_PATH.read_text())


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"min": 10, "max": 5}, "leaderboards.bad"),
        ({"max": 1e20}, "leaderboards.bad"),
        ({"order": "sideways"}, "leaderboards.bad.order"),
        ({"reset": "hourly"}, "leaderboards.bad.reset"),
        ({"counter_shards": 0}, "leaderboards.bad.counter_shards"),
        ({"colour": "red"}, "leaderboards.bad.colour"),
        ({"max_delta": 5}, "leaderboards.bad"),
        ({"min": 0.5}, "leaderboards.bad"),
        ({"source_stat": "nope"}, "leaderboards.bad.source_stat"),
        ({"source_stat": "kills"}, "leaderboards.bad.source_stat"),  # bounds wider than the board's
        ({"source_stat": "rating", "max": 100}, "leaderboards.bad.source_stat"),
        ({"writer": "server", "source_stat": "high_score", "max": 100000000}, "leaderboards.bad.source_stat"),
    ],
)
def test_bad_board_fails_loading_naming_it(change, named):
    raw = _raw()
    raw["leaderboards"]["bad"] = {"min": 0, "max": 1000, **change}
    with pytest.raises(GameConfigError) as err:
        parse_game_config(raw)
    assert named in str(err.value)


def test_bad_board_id_is_named():
    raw = _raw()
    raw["leaderboards"]["Bad-Id"] = {"max": 10}
    with pytest.raises(GameConfigError, match=r"leaderboards\.Bad-Id"):
        parse_game_config(raw)


def test_shipped_config_loads_and_shows_boards():
    config = parse_game_config(_raw())
    view = config.client_view()["leaderboards"]
    assert view["monthly_lap"]["order"] == "asc" and "index_shards" not in view["monthly_lap"]


def test_period_ids_and_boundaries():
    ts = 1795478400.0 + 3600  # 2026-11-24T01:00Z, a Tuesday
    assert periods.period_of("daily", ts) == "2026-11-24"
    assert periods.period_of("weekly", ts) == "2026-W48"
    assert periods.period_of("monthly", ts) == "2026-11"
    assert periods.period_of("none", ts) == "all"
    assert periods.previous("weekly", "2026-W01") == "2025-W52"
    assert periods.following("monthly", "2026-12") == "2027-01"
    start, end = periods.bounds("weekly", "2026-W48")
    assert periods.period_of("weekly", start) == "2026-W48" and periods.period_of("weekly", end) == "2026-W49"
    for reset, bad in [("daily", "2026-02-30"), ("weekly", "2021-W53"), ("monthly", "2026-1"), ("none", "2026")]:
        with pytest.raises(ValueError):
            periods.parse(reset, bad)


def test_order_keys_put_the_best_first():
    desc = Layout.of("b", BoardDef(order="desc", min=-5, max=300), "all")
    asc = Layout.of("b", BoardDef(order="asc", min=1, max=3600, decimals=3), "all")
    assert desc.order_key(300) == 0 and desc.order_key(-5) == 305
    assert asc.order_key(1) == 0 and asc.order_key(61.25) == 60250
    assert desc.levels == 2 and asc.levels == 3


def test_counter_deltas_skip_the_shared_path():
    layout = Layout.of("b", BoardDef(order="asc", min=0, max=65535), "all")
    assert counter_deltas(layout, 10, 11) == {(1, 0): {10: -1, 11: 1}}
    assert counter_deltas(layout, 10, 10) == {}
    moved = counter_deltas(layout, 10, 300)
    assert moved[(0, 0)] == {0: -1, 1: 1} and moved[(1, 0)] == {10: -1} and moved[(1, 1)] == {44: 1}


class _PageOnly:
    def __init__(self):
        self.limits = []

    def page(self, layout, after, limit):
        self.limits.append(limit)
        return [], False

    def counts(self, layout, keys):
        class _C:
            total = 0

        return _C()


def test_limit_is_capped_at_100():
    repo = _PageOnly()
    board = BoardDef(max=10)
    page = lb.top(board_id="b", board=board, limit=100000, cursor=None, period=None, repo=repo, names=lambda i: {})
    assert repo.limits == [100] and page["entries"] == []


def _entries(scores: list[int]) -> list:
    from chalicelib.storage.leaderboards import Entry

    layout = Layout.of("b", BoardDef(order="desc", write_mode="best", min=0, max=1000), "all")
    return [Entry(f"p{i}", s, layout.order_key(s), i, 1, "") for i, s in enumerate(scores)]


@pytest.mark.parametrize(
    ("board", "start"),
    [
        ([9, 7, 7, 7, 5, 5, 3, 1, 1, 0], 0),
        ([9, 7, 7, 7, 5, 5, 3, 1, 1, 0], 1),
        ([9, 7, 7, 7, 5, 5, 3, 1, 1, 0], 2),
        ([9, 7, 7, 7, 5, 5, 3, 1, 1, 0], 5),
        ([4, 4, 4, 4, 4, 4], 3),
        ([8, 6, 4, 2], 1),
    ],
)
def test_run_ranks_match_a_count_of_better_scores(board: list[int], start: int) -> None:
    """Any contiguous run, ranked from its first score's two counts, gets the shared ranks
    a count over the whole board gives (1 + the entries with a better score)."""
    entries = _entries(board)
    for end in range(start + 1, len(board) + 1):
        run = entries[start:end]
        first = run[0].score
        ahead = sum(1 for s in board if s > first)
        tied = sum(1 for s in board if s == first)
        assert lb.run_ranks(run, ahead, tied) == [1 + sum(1 for o in board if o > e.score) for e in run]


def test_an_archived_period_reads_back_from_its_stored_item():
    from chalicelib.storage.leaderboards import ArchivedPeriod, Standing, _archived, _standing_item

    archived = ArchivedPeriod(
        board="daily_score",
        period="2026-01-02",
        started_at="2026-01-02T00:00:00.000Z",
        ended_at="2026-01-03T00:00:00.000Z",
        closed_at="2026-01-03T00:10:00.000Z",
        total_entries=7,
        top=(Standing(1, "p1", 12.5, 1_790_000_000_000), Standing(2, "p2", 10, 1_790_000_000_001)),
    )
    item = {
        "PK": "B#daily_score",
        "SK": "P#2026-01-02",
        "v": 3,
        "board": "daily_score",
        "period": "2026-01-02",
        "status": "closed",
        "started_at": archived.started_at,
        "ended_at": archived.ended_at,
        "closed_at": archived.closed_at,
        "total_entries": 7,
        "top": [_standing_item(t) for t in archived.top],
    }
    assert _archived(item) == archived
    assert item["top"][0] == {"rank": 1, "player_id": "p1", "score": 12.5, "t": 1_790_000_000_000}
    # A period without bounds (or written before they were kept) reads with none.
    assert _archived({"board": "b", "period": "p"}) == ArchivedPeriod(board="b", period="p")
