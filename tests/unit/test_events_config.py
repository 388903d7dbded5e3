"""The events section of the game config and the per-event checks."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib.game_config import GAME_CONFIG_PATH, GameConfigError, get_game_config, parse_game_config
from chalicelib.models.events import SeedEvent
from chalicelib.services.analytics import Marker, _pack, _Plan
from chalicelib.services.events import check_event, seed_event_id

NOW = 2_000_000_000.0


def _with_events(**events: object) -> dict[str, object]:
    raw = json.loads(GAME_CONFIG_PATH.read_text())
    raw["events"] = {**raw["events"], **events}
    return raw


@pytest.mark.parametrize(
    ("events", "named"),
    [
        ({"patterns": ["level*x"]}, "events.patterns.0"),
        ({"types": ["Bad-Type"]}, "events.types.0"),
        ({"session_start": "login"}, "session_start 'login'"),
        ({"retention_days": 7, "max_age_seconds": 7 * 86400}, "retention_days"),
        ({"counter_shards": 0}, "events.counter_shards"),
        ({"colour": "red"}, "events.colour"),
    ],
)
def test_bad_events_section_fails_loading_naming_the_entry(events, named):
    with pytest.raises(GameConfigError) as err:
        parse_game_config(_with_events(**events))
    assert named in str(err.value)


def test_example_game_declares_events_and_shows_them_to_clients():
    config = get_game_config()
    assert config.events.allows("level_12") and config.events.allows("purchase")
    assert not config.events.allows("levelx") and not config.events.allows("teleport")
    view = config.client_view()["events"]
    assert view["session_start"] == "session_start" and "counter_shards" not in view


def _event(**changes: object) -> dict[str, object]:
    return {"event_id": "e1", "type": "purchase", "timestamp": NOW, "data": {}, **changes}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({}, None),
        ({"timestamp": NOW - 7 * 86400 - 1}, "too_old"),
        ({"timestamp": NOW - 7 * 86400 + 1}, None),
        ({"timestamp": NOW + 301}, "in_future"),
        ({"timestamp": NOW + 299}, None),
        ({"timestamp": True}, "invalid"),
        ({"data": {"s": "é" * 2100}}, "too_large"),  # 4200 bytes as UTF-8
        ({"data": {"a": [[[[1]]]]}}, None),  # depth 5
        ({"data": {"a": [[[[[1]]]]]}}, "too_deep"),
        ({"type": "level_"}, None),
        ({"event_id": ""}, "invalid"),
        ({"session_id": "x" * 65}, "invalid"),
    ],
)
def test_check_event(changes, code):
    result = check_event(4, _event(**changes), get_game_config().events, NOW)
    if code is None:
        assert not isinstance(result, dict), result
    else:
        assert isinstance(result, dict) and result["code"] == code and result["index"] == 4
        assert result["message"].startswith("events.4")


def test_seed_event_id_depends_on_the_events_own_fields_only():
    base = {"eventType": "level_start", "eventData": {"a": 1, "b": 2}, "timestamp": 1.5, "sessionId": "s"}
    same = SeedEvent.model_validate({**base, "playerId": "x", "eventData": {"b": 2, "a": 1}})
    assert seed_event_id(SeedEvent.model_validate(base)) == seed_event_id(same)
    assert seed_event_id(SeedEvent.model_validate({**base, "timestamp": 1.6})) != seed_event_id(same)


def test_pack_keeps_transactions_within_100_items_and_groups_whole():
    groups = [
        [_Plan(Marker(f"p{i}", f"M{j}"), Counter({(f"2031-01-{j + 1:02d}", "active"): 1})) for j in range(3)]
        for i in range(60)
    ]
    packed = _pack(groups)
    assert sum(len(t) for t in packed) == 60
    for transaction in packed:
        markers = sum(len(g) for g in transaction)
        days = {d for g in transaction for p in g for (d, _) in p.counts}
        assert markers + len(days) <= 100
