"""Queue declarations and the pure parts of matching: windows, groups, team balance."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.game_config import GAME_CONFIG_PATH, GameConfigError, parse_game_config
from chalicelib.game_config.schema import QueueDef
from chalicelib.services.matchmaking import assign_teams, choose_group, effective_status
from chalicelib.storage.matchmaking import Ticket

BASE = json.loads(GAME_CONFIG_PATH.read_text())


def _config_with(queue: dict) -> dict:
    return {**BASE, "queues": {"bad_queue": queue}}


GOOD = {
    "teams": 2,
    "team_size": 2,
    "max_party_size": 2,
    "regions": ["eu-west-1"],
    "skill_stat": "rating",
    "window": {"initial": 50, "growth_per_second": 5, "max": 300},
}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"skill_stat": "nope"}, "queues.bad_queue.skill_stat"),
        ({"max_party_size": 3}, "max_party_size"),
        ({"window": {"initial": 100, "max": 50}}, "max is smaller than initial"),
        ({"regions": []}, "queues.bad_queue.regions"),
        ({"regions": ["EU West"]}, "queues.bad_queue.regions.0"),
        ({"teams": 1}, "queues.bad_queue.teams"),
        ({"teams": 40, "team_size": 2}, "at most 64 players"),
        ({"ticket_timeout_seconds": 5}, "queues.bad_queue.ticket_timeout_seconds"),
        ({"surprise": 1}, "queues.bad_queue.surprise"),
    ],
)
def test_bad_queue_fails_loading_naming_the_entry(change, needle):
    with pytest.raises(GameConfigError) as info:
        parse_game_config(_config_with({**GOOD, **change}))
    assert "bad_queue" in str(info.value)
    assert needle in str(info.value)


def test_shipped_queues_load_and_are_visible_to_clients():
    config = parse_game_config(BASE)
    assert {"duel", "squads", "arena"} <= set(config.queues)
    assert config.queues["arena"].match_size == 4
    assert config.client_view()["queues"]["squads"]["max_party_size"] == 2


def test_window_widens_with_wait_up_to_its_max():
    queue = QueueDef.model_validate(GOOD)
    assert queue.window.width(0) == 50
    assert queue.window.width(10) == 100
    assert queue.window.width(1000) == 300


def _t(tid: str, skill: float, members: int = 1, since: float = 0.0) -> Ticket:
    players = tuple(f"{tid}-{i}" for i in range(members))
    return Ticket(
        ticket_id=tid,
        queue="q",
        region="eu-west-1",
        leader=players[0],
        members=players,
        joined=players,
        skills=dict.fromkeys(players, skill),
        skill=skill,
        status="searching",
        created_at=since,
        searching_since=since,
        timeout_at=1e12,
        expires_at=2**40,
    )


def test_teams_are_balanced_snake_like_and_parties_stay_whole():
    queue = QueueDef.model_validate({**GOOD, "teams": 2, "team_size": 2, "max_party_size": 2})
    teams = assign_teams([_t("a", 1000), _t("b", 900), _t("c", 800), _t("d", 700)], queue)
    sums = sorted(sum(t.skill for t in team) for team in teams)
    assert sums == [1700, 1700]  # a+d vs b+c
    party = _t("p", 850, members=2)
    teams = assign_teams([party, _t("x", 900), _t("y", 800)], queue)
    assert [party] in teams
    assert assign_teams([_t("p", 1, 2), _t("q", 1, 2), _t("r", 1)], queue) is None


def test_group_stays_inside_the_window_of_its_longest_waiting_ticket():
    queue = QueueDef.model_validate({**GOOD, "teams": 2, "team_size": 1, "max_party_size": 1})
    anchor = _t("a", 1000, since=100)
    # Just searching: window 50, so 1080 is too far and 1040 fits.
    assert choose_group(anchor, [_t("far", 1080, since=100)], queue, now=100) is None
    assert [
        t.ticket_id
        for t in choose_group(anchor, [_t("far", 1080, since=100), _t("near", 1040, since=100)], queue, now=100)
    ] == ["a", "near"]
    # The far ticket has waited 10 s: its window is 100, which covers the gap.
    assert choose_group(anchor, [_t("far", 1080, since=90)], queue, now=100) is not None


def test_ticket_past_timeout_reads_as_timed_out():
    ticket = replace(_t("a", 1), timeout_at=50.0)
    assert effective_status(ticket, 49.9) == "searching"
    assert effective_status(ticket, 50.0) == "timed_out"
    assert effective_status(replace(ticket, status="matched"), 99) == "matched"
