"""Matchmaking services from many threads on the serialized stand-in: races and timeouts.

Time is always a clock the test controls: the outcome depends on the order of the races,
never on how fast the machine is."""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

from chalicelib.errors import Conflict
from chalicelib.game_config.schema import GameConfig, QueueDef
from chalicelib.services import matchmaking as mm
from chalicelib.storage.matchmaking import MatchmakingRepository
from chalicelib.storage.players import PlayersRepository, StatWrite

pytestmark = pytest.mark.usefixtures("standin")
REGION = "eu-west-1"


def _config(**queue) -> tuple[GameConfig, str]:
    """A config with one fresh queue (its own index partition: tests do not meet)."""
    queue_id = f"t_{uuid.uuid4().hex[:10]}"
    spec = {
        "teams": 2,
        "team_size": 1,
        "regions": [REGION],
        "skill_stat": "rating",
        "window": {"initial": 100, "growth_per_second": 500, "max": 1500},
        "ticket_timeout_seconds": 3600,
        **queue,
    }
    return GameConfig.model_validate(
        {"stats": {"rating": {"aggregation": "latest", "default": 1000}}, "queues": {queue_id: spec}}
    ), queue_id


def _players(ratings: list[float]) -> list[str]:
    repo = PlayersRepository()
    ids = []
    for rating in ratings:
        pid = str(uuid.uuid4())
        repo.apply_stats(pid, [StatWrite("rating", "latest", rating)], "2024-01-01")
        ids.append(pid)
    return ids


class VirtualClock:
    """Shared virtual time: every poll moves it on by `step`. The window grows with polls,
    not with the machine's speed, so a loaded machine cannot time a ticket out."""

    def __init__(self, start: float, step: float = 0.05) -> None:
        self.now, self.step = start, step
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self) -> None:
        with self.lock:
            self.now += self.step


def _patient_client() -> Any:
    """64 threads queue on the one-request-at-a-time stand-in: on a loaded machine a call
    can wait longer than the app's 10 s read timeout, which is not what this test checks."""
    return boto3.client(
        "dynamodb",
        config=Config(
            read_timeout=600,
            connect_timeout=60,
            max_pool_connections=64,
            retries={"mode": "standard", "max_attempts": 3},
        ),
    )


def _run_crowd(config: GameConfig, queue_id: str, ratings: list[float], max_polls: int = 40) -> dict:
    client = _patient_client()
    repo, players = MatchmakingRepository(client=client), PlayersRepository(client=client)
    ids = _players(ratings)
    rating_of = dict(zip(ids, ratings, strict=True))
    results: dict[str, dict] = {}
    clock = VirtualClock(time.time())

    def play(pid: str) -> None:
        view = mm.create_ticket(
            player_id=pid,
            queue_id=queue_id,
            region=REGION,
            party=None,
            config=config,
            repo=repo,
            players=players,
            notify=lambda n: None,
            clock=clock,
        )
        for _ in range(max_polls):
            if view["status"] != "searching":
                break
            clock.advance()
            view = mm.poll_ticket(
                player_id=pid, ticket_id=view["ticket_id"], config=config, repo=repo, notify=lambda n: None, clock=clock
            )
        results[pid] = view

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        list(pool.map(play, ids))
    return {"results": results, "rating_of": rating_of, "repo": repo}


def _check_matches(config: GameConfig, queue_id: str, crowd: dict) -> int:
    queue: QueueDef = config.queues[queue_id]
    repo: MatchmakingRepository = crowd["repo"]
    match_ids = {v["match_id"] for v in crowd["results"].values() if v["status"] == "matched"}
    seen: dict[str, str] = {}
    for match_id in match_ids:
        match = repo.get_match(match_id)
        assert match is not None
        # Every match of the queue's size and shape.
        assert len(match.players) == queue.match_size == len(set(match.players))
        assert len(match.teams) == queue.teams and all(len(t) == queue.team_size for t in match.teams)
        # No player in two matches.
        for pid in match.players:
            assert pid not in seen, f"{pid} in {seen[pid]} and {match_id}"
            seen[pid] = match_id
        # Skills are the server's, and every pair is inside the window for the wait.
        skills = [t.skill for t in match.tickets]
        for t in match.tickets:
            ticket = repo.get_ticket(t.ticket_id)
            assert ticket is not None and ticket.status == "matched" and ticket.match_id == match_id
            assert t.skill == crowd["rating_of"][ticket.leader]
        window = max(queue.window.width(match.created_at - t.searching_since) for t in match.tickets)
        for a, b in itertools.combinations(skills, 2):
            assert abs(a - b) <= window + 1e-9
    # Each player's own view agrees with the match records.
    for pid, view in crowd["results"].items():
        if view["status"] == "matched":
            assert seen[pid] == view["match_id"]
        else:
            assert pid not in seen
    return len(seen)


@pytest.mark.parametrize(("teams", "team_size"), [(4, 1), (2, 2)])
def test_crowd_of_64_is_matched_without_doubles_in_window(teams, team_size):
    config, queue_id = _config(teams=teams, team_size=team_size)
    rng = random.Random(teams * 10 + team_size)
    ratings = [float(rng.randint(500, 1500)) for _ in range(64)]
    crowd = _run_crowd(config, queue_id, ratings)
    matched = _check_matches(config, queue_id, crowd)
    # 64 is a multiple of every match size and the window reaches everyone within 2 virtual
    # seconds (about one round of polls); the virtual clock stays far from the timeout.
    assert matched == 64, {p: v["status"] for p, v in crowd["results"].items() if v["status"] != "matched"}


def test_party_is_matched_whole_or_not_at_all():
    config, queue_id = _config(teams=2, team_size=2, max_party_size=2)
    repo, players = MatchmakingRepository(), PlayersRepository()
    leader, member, *solos = _players([1000, 1010, 1000, 1005, 990])
    quiet = {"config": config, "repo": repo, "notify": lambda n: None}
    party = mm.create_ticket(
        player_id=leader, queue_id=queue_id, region=REGION, party=[member], players=players, **quiet
    )
    assert party["status"] == "forming"
    # Three solos cannot fill a 2v2 while the party is still forming: it is not in the index.
    views = [
        mm.create_ticket(player_id=p, queue_id=queue_id, region=REGION, party=None, players=players, **quiet)
        for p in solos
    ]
    assert [v["status"] for v in views] == ["searching"] * 3
    assert all(leader not in (v.get("match") or {}).get("players", []) for v in views)
    joined = mm.join_ticket(player_id=member, ticket_id=party["ticket_id"], players=players, **quiet)
    assert joined["status"] == "matched"
    match = joined["match"]
    assert {leader, member} in [set(t) for t in match["teams"]]
    assert len(match["players"]) == 4
    left = [p for p in solos if p not in match["players"]]
    assert len(left) == 1


def test_cancel_racing_a_match_leaves_one_outcome():
    config, queue_id = _config(window={"initial": 1000, "growth_per_second": 0, "max": 1000})
    repo, players = MatchmakingRepository(), PlayersRepository()
    outcomes = set()
    for _ in range(12):
        victim, rival = _players([1000, 1000])
        ticket = mm.create_ticket(
            player_id=victim,
            queue_id=queue_id,
            region=REGION,
            party=None,
            config=config,
            repo=repo,
            players=players,
            notify=lambda n: None,
        )
        barrier = threading.Barrier(2)
        got: dict[str, object] = {}

        def cancel(victim=victim, ticket=ticket, barrier=barrier, got=got):
            barrier.wait()
            try:
                got["cancel"] = mm.cancel_ticket(
                    player_id=victim, ticket_id=ticket["ticket_id"], config=config, repo=repo
                )["status"]
            except Conflict:
                got["cancel"] = "conflict"

        def rival_create(rival=rival, barrier=barrier, got=got):
            barrier.wait()
            got["rival"] = mm.create_ticket(
                player_id=rival,
                queue_id=queue_id,
                region=REGION,
                party=None,
                config=config,
                repo=repo,
                players=players,
                notify=lambda n: None,
            )

        threads = [threading.Thread(target=cancel), threading.Thread(target=rival_create)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stored = repo.get_ticket(ticket["ticket_id"])
        rival_view = got["rival"]
        if got["cancel"] == "cancelled":
            assert stored.status == "cancelled"
            assert rival_view["status"] == "searching"
        else:
            assert got["cancel"] == "conflict"
            assert stored.status == "matched"
            assert rival_view["status"] == "matched" and rival_view["match_id"] == stored.match_id
        outcomes.add(stored.status)
        mm.cancel_ticket(player_id=rival, ticket_id=rival_view["ticket_id"], config=config, repo=repo) if rival_view[
            "status"
        ] == "searching" else None
    assert outcomes <= {"cancelled", "matched"}


def test_timed_out_ticket_reads_as_such_and_the_job_moves_it_out():
    config, queue_id = _config(ticket_timeout_seconds=10, window={"initial": 5000, "max": 5000})
    repo, players = MatchmakingRepository(), PlayersRepository()
    stale, job_moved, late = _players([1000, 1000, 1000])
    t0 = time.time()
    quiet = {"config": config, "repo": repo, "players": players, "notify": lambda n: None}
    first = mm.create_ticket(player_id=stale, queue_id=queue_id, region=REGION, party=None, clock=lambda: t0, **quiet)
    # 11 s later: still `searching` in the store, but a newcomer cannot be matched with it.
    later = t0 + 11
    assert repo.get_ticket(first["ticket_id"]).status == "searching"
    newcomer = mm.create_ticket(
        player_id=late, queue_id=queue_id, region=REGION, party=None, clock=lambda: later, **quiet
    )
    assert newcomer["status"] == "searching"
    polled = mm.poll_ticket(
        player_id=stale, ticket_id=first["ticket_id"], config=config, repo=repo, clock=lambda: later
    )
    assert polled["status"] == "timed_out"
    # A timed-out ticket no longer blocks a new one.
    second = mm.create_ticket(
        player_id=stale, queue_id=queue_id, region=REGION, party=None, clock=lambda: later, **quiet
    )
    assert second["status"] == "matched"  # with the newcomer
    # The job: a ticket nobody polls is moved to timed_out and out of the waiting index.
    third = mm.create_ticket(
        player_id=job_moved, queue_id=queue_id, region=REGION, party=None, clock=lambda: t0, **quiet
    )
    assert third["status"] == "searching"
    assert mm.time_out_tickets(config=config, repo=repo, clock=lambda: later) >= 1
    assert repo.get_ticket(third["ticket_id"]).status == "timed_out"
    assert repo.waiting(queue_id, REGION, low=0, high=10000, limit=100) == []
    assert repo.past_timeout(queue_id, REGION, later + 1000) == []
