"""Leaderboard ranks against a sorted reference: a hypothesis state machine, concurrent
writers, and period close, on the stand-in through the service and repository."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chalicelib.errors import Invalid
from chalicelib.game_config.schema import BoardDef, GameConfig, StatDef
from chalicelib.services import leaderboards as lb
from chalicelib.storage.leaderboards import Layout, LeaderboardsRepository

_ids = itertools.count()
PLAYERS = [f"player-{c}" for c in "abcde"]
MIN, MAX = -300, 70_000
# Scores on the counter tree's digit boundaries, plus a few repeated values for ties.
SCORES = st.one_of(
    st.sampled_from([MIN, -1, 0, 1, 255, 256, 257, 65535, 65536, 69_999, MAX, 500, 500, 500]),
    st.integers(MIN, MAX),
)
DELTAS = st.one_of(st.sampled_from([0, 1, 256, -256, 5000, -5000]), st.integers(-20000, 20000))


def no_names(ids):
    return {}


class Reference:
    """The board as a sorted list, by the documented convention."""

    def __init__(self, board: BoardDef) -> None:
        self.board = board
        self.entries: dict[str, tuple[int, int]] = {}

    def submit(self, player: str, value: int, now_ms: int) -> bool:
        old = self.entries.get(player)
        mode = self.board.write_mode
        if mode == "sum":
            if old is not None and value == 0:
                return True
            total = (old[0] if old else 0) + value
            if not MIN <= total <= MAX:
                return False
            self.entries[player] = (total, now_ms)
        elif old is None or (
            old[0] != value and (mode == "latest" or (value > old[0] if self.board.order == "desc" else value < old[0]))
        ):
            self.entries[player] = (value, now_ms)
        return True

    def ordered(self) -> list[tuple[str, int]]:
        sign = -1 if self.board.order == "desc" else 1
        rows = sorted(self.entries.items(), key=lambda kv: (sign * kv[1][0], kv[1][1], kv[0]))
        return [(p, s) for p, (s, _) in rows]

    def rank(self, player: str) -> int:
        """1 + the entries with a strictly better score, counted one by one."""
        mine = self.entries[player][0]
        better = (lambda s: s > mine) if self.board.order == "desc" else (lambda s: s < mine)
        return 1 + sum(1 for s, _ in self.entries.values() if better(s))


def make_board(mode: str, order: str, **kw) -> tuple[str, BoardDef]:
    board_id = f"t{next(_ids)}_{mode}_{order}"
    return board_id, BoardDef(
        **{"order": order, "write_mode": mode, "min": MIN, "max": MAX, "counter_shards": 2, "index_shards": 3, **kw}
    )


@pytest.mark.usefixtures("standin")
class TestRanksMatchReference:
    def test_state_machine(self, standin):
        run_state_machine()


class BoardMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.repo = LeaderboardsRepository()
        self.ms = 1_790_000_000_000
        self.boards = {}
        self.refs = {}
        for mode in ("best", "latest", "sum"):
            for order in ("desc", "asc"):
                board_id, board = make_board(mode, order)
                self.boards[board_id] = board
                self.refs[board_id] = Reference(board)
        self.touched = next(iter(self.boards))

    def clock(self) -> float:
        return self.ms / 1000

    @rule(
        board_index=st.integers(0, 5),
        player=st.sampled_from(PLAYERS),
        score=SCORES,
        delta=DELTAS,
        tick=st.sampled_from([0, 0, 1, 7]),
    )
    def submit(self, board_index, player, score, delta, tick):
        self.ms += tick
        board_id = list(self.boards)[board_index]
        board = self.boards[board_id]
        value = delta if board.write_mode == "sum" else score
        accepted = self.refs[board_id].submit(player, value, self.ms)
        try:
            result = lb.submit_score(
                board_id=board_id,
                board=board,
                player_id=player,
                score=value,
                writer="client",
                repo=self.repo,
                names=no_names,
                clock=self.clock,
            )
        except Invalid:
            assert not accepted
        else:
            assert accepted
            ordered = self.refs[board_id].ordered()
            assert result["entry"]["rank"] == self.refs[board_id].rank(player)
            assert result["total_entries"] == len(ordered)
        self.touched = board_id

    @invariant()
    def ranks_pages_and_windows_match(self):
        if not hasattr(self, "repo"):
            return
        board_id = self.touched
        board = self.boards[board_id]
        ref = self.refs[board_id]
        expected = ref.ordered()
        common = {"board_id": board_id, "board": board, "repo": self.repo, "names": no_names, "clock": self.clock}
        # every page, through cursors
        seen, cursor = [], None
        while True:
            page = lb.top(limit=2, cursor=cursor, period=None, **common)
            seen.extend((e["rank"], e["player_id"], e["score"]) for e in page["entries"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [(ref.rank(p), p, s) for p, s in expected]
        # every player's rank and window
        for i, (player, _) in enumerate(expected):
            me = lb.standing(player_id=player, around=2, period=None, **common)
            assert me["entry"]["rank"] == ref.rank(player)
            window = [(e["rank"], e["player_id"]) for e in me["entries"]]
            lo = max(0, i - 2)
            assert window == [(ref.rank(p), p) for p, _ in expected[lo : i + 3]]
        friends = lb.chosen_players(player_ids=PLAYERS, period=None, **common)
        assert [(e["rank"], e["player_id"]) for e in friends["entries"]] == [(ref.rank(p), p) for p, _ in expected]


def run_state_machine():
    BoardMachine.TestCase.settings = settings(
        max_examples=8,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    BoardMachine.TestCase().runTest()


def test_concurrent_submissions_keep_ranks_exact(standin):
    repo = LeaderboardsRepository()
    best_id, best = make_board("best", "desc")
    sum_id, summed = make_board("sum", "desc")
    players = [f"racer-{i}" for i in range(12)]
    added: dict[str, int] = dict.fromkeys(players, 0)
    lock = threading.Lock()
    errors = []

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(12):
            p = rnd.choice(players)
            try:
                lb.submit_score(
                    board_id=best_id,
                    board=best,
                    player_id=p,
                    score=rnd.randint(0, 600),
                    writer="client",
                    repo=repo,
                    names=no_names,
                )
                delta = rnd.randint(1, 50)
                lb.submit_score(
                    board_id=sum_id, board=summed, player_id=p, score=delta, writer="client", repo=repo, names=no_names
                )
                with lock:
                    added[p] += delta
            except Exception as exc:  # surfaced below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for board_id, board in ((best_id, best), (sum_id, summed)):
        layout = Layout.of(board_id, board, "all")
        entries = repo.get_entries(layout, players)
        if board is summed:
            assert {p: e.score for p, e in entries.items()} == {p: n for p, n in added.items() if n}
        expected = sorted(entries.values(), key=lambda e: (-e.score, e.reached_ms, e.player_id))
        ranks, total = repo.ranks(layout, list(entries.values()))
        assert total == len(entries)
        assert [ranks[e.player_id] for e in expected] == [
            1 + sum(1 for o in expected if o.score > e.score) for e in expected
        ]
        page = lb.top(board_id=board_id, board=board, limit=100, cursor=None, period=None, repo=repo, names=no_names)
        assert [e["player_id"] for e in page["entries"]] == [e.player_id for e in expected]


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_period_close_twice_gives_one_archive_and_final_ranks(standin):
    repo = LeaderboardsRepository()
    board_id, board = make_board("best", "desc", reset="daily", notify_top=2)
    config = GameConfig(leaderboards={board_id: board})
    day = lambda: _at("2026-03-10T15:00:00")  # noqa: E731
    for i, p in enumerate(PLAYERS):
        lb.submit_score(
            board_id=board_id,
            board=board,
            player_id=p,
            score=100 * i,
            writer="client",
            repo=repo,
            names=no_names,
            clock=day,
        )
    sent = []
    next_day = lambda: _at("2026-03-11T01:00:00")  # noqa: E731
    first = lb.close_ended_periods(config=config, repo=repo, clock=next_day, send=sent.append)
    again = lb.close_ended_periods(config=config, repo=repo, clock=next_day, send=sent.append)
    assert first == [{"board": board_id, "period": "2026-03-10"}]
    assert again == []
    assert [(n.player_id, n.data["rank"]) for n in sent] == [(PLAYERS[4], 1), (PLAYERS[3], 2)]
    assert {n.dedupe_key for n in sent} == {f"leaderboard:{board_id}:2026-03-10:{p}" for p in PLAYERS[3:]}

    # a new day starts empty; the closed day stays readable with its final ranks
    now = lb.top(
        board_id=board_id, board=board, limit=10, cursor=None, period=None, repo=repo, names=no_names, clock=next_day
    )
    assert now["period"] == "2026-03-11" and now["entries"] == []
    past = lb.standing(
        board_id=board_id,
        board=board,
        player_id=PLAYERS[1],
        around=1,
        period="2026-03-10",
        repo=repo,
        names=no_names,
        clock=next_day,
    )
    assert past["entry"]["rank"] == 4 and past["total_entries"] == 5
    archive = lb.archived_periods(board_id=board_id, board=board, limit=10, cursor=None, repo=repo, names=no_names)
    assert [p["period"] for p in archive["periods"]] == ["2026-03-10"]
    assert [t["player_id"] for t in archive["periods"][0]["top"]] == list(reversed(PLAYERS))

    # late by three days: catches up on the missed (empty) days, never re-archives
    late = lambda: _at("2026-03-14T05:00:00")  # noqa: E731
    caught = lb.close_ended_periods(config=config, repo=repo, clock=late, send=sent.append)
    assert [c["period"] for c in caught] == ["2026-03-11", "2026-03-12", "2026-03-13"]
    assert len(sent) == 2
    pages, cursor = [], None
    while True:
        page = lb.archived_periods(board_id=board_id, board=board, limit=2, cursor=cursor, repo=repo, names=no_names)
        pages.extend(p["period"] for p in page["periods"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == ["2026-03-13", "2026-03-12", "2026-03-11", "2026-03-10"]


def test_erasure_fixes_counters_and_archives(standin):
    repo = LeaderboardsRepository()
    board_id, board = make_board("best", "asc", reset="monthly")
    config = GameConfig(leaderboards={board_id: board})
    then = lambda: _at("2026-01-20T00:00:00")  # noqa: E731
    players = [f"{board_id}-{p}" for p in PLAYERS]
    for i, p in enumerate(players):
        lb.submit_score(
            board_id=board_id, board=board, player_id=p, score=i, writer="client", repo=repo, names=no_names, clock=then
        )
    lb.close_ended_periods(config=config, repo=repo, clock=lambda: _at("2026-02-02T00:00:00"), send=lambda n: None)
    assert lb.erase_player(config=config, player_id=players[0], repo=repo) == 1
    layout = Layout.of(board_id, board, "2026-01")
    assert repo.get_entry(layout, players[0]) is None
    ranks, total = repo.ranks(layout, list(repo.get_entries(layout, players).values()))
    assert total == 4 and ranks == {p: i for i, p in enumerate(players) if i}
    record = repo.get_period(board_id, "2026-01")
    assert record is not None and players[0] not in [t.player_id for t in record.top]
    assert lb.erase_player(config=config, player_id=players[0], repo=repo) == 0


def test_bench_bulk_loader_writes_what_the_storage_layer_writes(standin):
    from bench.bench_leaderboards import bulk_items
    from chalicelib.storage.items import from_item, to_item

    repo = LeaderboardsRepository()
    board_id, board = make_board("best", "desc", counter_shards=1)
    rnd = random.Random(7)
    ms = [1_790_000_000_000]
    for i in range(40):
        ms[0] += 1
        lb.submit_score(
            board_id=board_id,
            board=board,
            player_id=f"bulk-{i}",
            score=rnd.randint(MIN, MAX),
            writer="client",
            repo=repo,
            names=no_names,
            clock=lambda: ms[0] / 1000,
        )
    layout = Layout.of(board_id, board, "all")
    entries = sorted(repo.get_entries(layout, [f"bulk-{i}" for i in range(40)]).values(), key=lambda e: e.player_id)
    for item in bulk_items(layout, entries, lambda _: 0):
        stored = from_item(
            repo.client.get_item(TableName=repo.table, Key=to_item({"PK": item["PK"], "SK": item["SK"]}))["Item"]
        )
        assert stored == item


def test_rank_reads_do_not_grow_with_ties(standin):
    """The last of a big tie group costs one counter read, like a player alone on a score."""
    from bench.harness import count_requests

    repo = LeaderboardsRepository()
    board_id, board = make_board("best", "desc")
    ms = [1_790_000_000_000]
    players = [f"{board_id}-tie-{i}" for i in range(30)]
    for i, player in enumerate([*players, f"{board_id}-top", f"{board_id}-low"]):
        ms[0] += 1
        score = 900 if player.endswith("top") else 100 if player.endswith("low") else 500
        lb.submit_score(
            board_id=board_id,
            board=board,
            player_id=player,
            score=score,
            writer="client",
            repo=repo,
            names=no_names,
            clock=lambda: ms[0] / 1000,
        )
    layout = Layout.of(board_id, board, "all")
    last = repo.get_entry(layout, players[-1])
    alone = repo.get_entry(layout, f"{board_id}-low")
    with count_requests(repo.client) as tied:
        ranks, total = repo.ranks(layout, [last])
    with count_requests(repo.client) as single:
        repo.ranks(layout, [alone])
    assert ranks[last.player_id] == 2 and total == 32
    assert tied.total_requests == single.total_requests == 1
    assert tied.items_read <= single.items_read + layout.levels * board.counter_shards


def test_a_stat_fed_board_reads_no_rank(standin):
    """A stat update that feeds a board writes the entry and reads no rank nobody returns."""
    from bench.harness import count_requests

    repo = LeaderboardsRepository()
    board_id, board = make_board("best", "desc", source_stat="best_run")
    config = GameConfig(
        stats={"best_run": StatDef(aggregation="max", min=MIN, max=MAX)}, leaderboards={board_id: board}
    )
    with count_requests(repo.client) as counted:
        written = lb.follow_stats(config=config, player_id=f"{board_id}-feeder", values={"best_run": 3}, repo=repo)
    assert written == [board_id]
    assert counted.requests["TransactWriteItems"] == 1
    assert counted.requests["BatchGetItem"] == 0 and counted.requests["Query"] == 0
    layout = Layout.of(board_id, board, "all")
    assert repo.get_entry(layout, f"{board_id}-feeder").score == 3
