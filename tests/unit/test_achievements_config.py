"""The achievements and notifications sections of the game config, and the inbox cursor."""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import Invalid
from chalicelib.game_config import GAME_CONFIG_PATH, GameConfigError, parse_game_config
from chalicelib.services.notifications import decode_cursor, encode_cursor, expiry_day

BASE = json.loads(GAME_CONFIG_PATH.read_text())


def _with(ach: dict | None = None, **sections):
    raw = json.loads(json.dumps(BASE))
    if ach is not None:
        raw["achievements"]["broken"] = ach
    raw.update(sections)
    return raw


@pytest.mark.parametrize(
    ("ach", "message"),
    [
        ({"title": "x", "kind": "threshold", "target": 3}, "needs a stat and a target"),
        ({"title": "x", "kind": "threshold", "stat": "nope", "target": 3}, "achievements.broken.stat: no stat 'nope'"),
        ({"title": "x", "kind": "incremental", "target": 2.5}, "whole target"),
        ({"title": "x", "kind": "manual", "target": 2}, "no target"),
        ({"title": "x", "kind": "manual", "client_reports": True}, "for incremental"),
        ({"title": "x", "kind": "manual", "reward": {"stat": "level", "amount": 1}}, "increments a sum stat"),
        ({"title": "x", "kind": "manual", "reward": {"stat": "xp", "amount": 0.5}}, "whole number"),
        ({"title": "x", "kind": "manual", "reward": {"stat": "xp", "amount": 10**6}}, "max_delta"),
        ({"title": "", "kind": "manual"}, "achievements.broken.title"),
        ({"title": "x", "kind": "secret"}, "achievements.broken.kind"),
        ({"title": "x", "kind": "manual", "colour": "red"}, "achievements.broken.colour"),
    ],
)
def test_a_bad_achievement_fails_loading_naming_it(ach, message):
    with pytest.raises(GameConfigError) as caught:
        parse_game_config(_with(ach))
    assert "broken" in str(caught.value) and message in str(caught.value)


def test_bad_notifications_section_names_the_field():
    with pytest.raises(GameConfigError, match=r"notifications\.ttl_days"):
        parse_game_config(_with(notifications={"ttl_days": 0}))


def test_shipped_config_loads_and_hides_hidden_achievements():
    config = parse_game_config(BASE)
    view = config.client_view()["achievements"]
    assert "speed_demon" not in view and "dev_friend" not in view and "first_blood" in view


def test_cursor_round_trip_and_tampering():
    t = "1700000000000" + "deadbeef"
    assert decode_cursor(encode_cursor(t, player_id="p1"), player_id="p1") == t
    for bad in ["", "%%%", encode_cursor("x", player_id="p1"), encode_cursor(t, player_id="p1")[:-3], "e30", "a" * 300]:
        with pytest.raises(Invalid):
            decode_cursor(bad, player_id="p1")


def test_expiry_is_by_whole_days():
    day = 86_400
    assert expiry_day(10 * day, 30) == expiry_day(11 * day - 1, 30) == 41
