"""The events section of the game config and the per-event checks."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib.game_config import GAME_CONFIG_PATH, GameConfigError, get_game_config, parse_game_config
from chalicelib.models.events import SeedEvent
from chalicelib.services.analytics import batch_counts
from chalicelib.services.events import check_event, seed_event_id
from chalicelib.storage.events import StoredEvent

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


def test_seed_event_id_tells_identical_events_of_a_batch_apart_and_never_merges_untimed_ones():
    event = SeedEvent.model_validate({"eventType": "ui_click", "eventData": {}, "timestamp": 3.0, "sessionId": "s"})
    assert seed_event_id(event, copy=0) == seed_event_id(event)  # the id earlier versions gave it
    assert len({seed_event_id(event, copy=k) for k in range(3)}) == 3
    untimed = SeedEvent.model_validate({"eventType": "ui_click", "eventData": {}, "sessionId": "s"})
    assert seed_event_id(untimed) != seed_event_id(untimed)
    assert seed_event_id(untimed, batch_id="b", index=0) == seed_event_id(untimed, batch_id="b", index=0)
    assert seed_event_id(untimed, batch_id="b", index=0) != seed_event_id(untimed, batch_id="b", index=1)
    assert seed_event_id(untimed, batch_id="b", index=0) != seed_event_id(untimed, batch_id="c", index=0)


def _stored(type_: str) -> StoredEvent:
    return StoredEvent("p", "e", type_, NOW, None, "{}", NOW, "2031-01-08", 0)


@pytest.mark.parametrize(
    ("cohort", "active_today", "markers", "counts"),
    [
        (None, False, ["FIRST", "D#2031-01-08"], {"2031-01-08": {"new": 1, "active": 1}}),
        ("2031-01-07", False, ["D#2031-01-08"], {"2031-01-08": {"active": 1}, "2031-01-07": {"d1": 1}}),
        ("2031-01-01", False, ["D#2031-01-08"], {"2031-01-08": {"active": 1}, "2031-01-01": {"d7": 1}}),
        ("2031-01-03", False, ["D#2031-01-08"], {"2031-01-08": {"active": 1}}),
        ("2031-01-07", True, [], {"2031-01-08": {}}),
    ],
)
def test_batch_counts_count_players_on_their_first_batch_of_a_day(cohort, active_today, markers, counts):
    events = [_stored("session_start"), _stored("level_3"), _stored("level_3")]
    planned = batch_counts(
        player_id="p",
        events=events,
        day="2031-01-08",
        cohort=cohort,
        active_today=active_today,
        config=get_game_config().events,
    )
    assert [m.name for m in planned.markers] == markers
    expected = {day: Counter(c) for day, c in counts.items()}
    expected["2031-01-08"].update({"events": 3, "sessions": 1, "t:session_start": 1, "t:level_3": 2})
    assert {day: +c for day, c in planned.increments.items()} == expected
    assert 0 <= planned.shard < get_game_config().events.counter_shards
