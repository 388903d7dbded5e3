"""Analytics from the events stream: exact daily figures under replays and concurrency."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

from chalicelib.api.events import count_stream_records
from chalicelib.game_config import get_game_config
from chalicelib.services import analytics
from chalicelib.services import events as events_service
from chalicelib.storage.analytics import AnalyticsRepository
from chalicelib.storage.events import EventsRepository
from tests.integration.events_helpers import make_event, stream_records


def _at(day: str, hour: int = 12) -> float:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00").timestamp()


def _send(player_id: str, day: str, types: list[str], hour: int = 12) -> list[dict[str, Any]]:
    """Ingest as if the server's clock read `day` (the day events are counted on)."""
    now = _at(day, hour)
    batch = [make_event(t, ts=now - 30) for t in types]
    for _ in range(2):  # every batch is resent once: nothing may count twice
        events_service.ingest(
            player_id=player_id,
            events=batch,
            config=get_game_config().events,
            repo=EventsRepository(),
            clock=lambda: now,
        )
    return batch


def _figures(first: str, last: str) -> dict[str, dict[str, Any]]:
    result = analytics.summary(
        first=dt.date.fromisoformat(first),
        last=dt.date.fromisoformat(last),
        config=get_game_config().events,
        repo=AnalyticsRepository(),
    )
    return {row["day"]: row for row in result["days"]}


def test_a_days_figures_equal_what_was_sent(standin, new_player):
    a, b, c, e = (new_player().player_id for _ in range(4))
    day0, day1, day7 = "2031-01-10", "2031-01-11", "2031-01-17"
    sent: dict[str, list[tuple[str, str]]] = {day0: [], day1: [], day7: []}

    def send(player: str, day: str, types: list[str], hour: int = 12) -> None:
        _send(player, day, types, hour)
        sent[day] += [(player, t) for t in types]

    send(a, day0, ["session_start", "level_start", "level_start"], hour=1)
    send(b, day0, ["session_start", "purchase"], hour=23)
    send(c, day0, ["ui_click"])
    send(a, day1, ["session_start", "level_complete"])
    send(b, day1, ["screen_view"])
    send(e, day1, ["session_start"])
    send(a, day7, ["session_end"])
    send(e, day7, ["level_1"])  # e's cohort is day1: day7 is its day 6, no retention

    records = stream_records({a, b, c, e})
    assert len([r for r in records if r["eventName"] == "INSERT"]) == sum(len(v) for v in sent.values())
    # Lambda-sized batches of 4 records, one batch delivered twice, then the whole stream
    # replayed from 3 threads at once: every event still counts once.
    for start in range(0, len(records), 4):
        count_stream_records(records[start : start + 4])
    count_stream_records(records[:4])
    threads = [threading.Thread(target=count_stream_records, args=(records,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    figures = _figures(day0, day7)
    first_day = {day0: {a, b, c}, day1: {e}, day7: set()}
    for day, pairs in sent.items():
        row = figures[day]
        assert row["events"] == len(pairs)
        assert row["events_by_type"] == dict(Counter(t for _, t in pairs))
        assert row["active_players"] == len({p for p, _ in pairs})
        assert row["sessions"] == sum(1 for _, t in pairs if t == "session_start")
        assert row["new_players"] == len(first_day[day])
    assert (figures[day0]["d1_retained"], figures[day0]["d7_retained"]) == (2, 1)  # a and b; a
    assert figures[day0]["d1_retention"] == round(2 / 3, 4)
    assert (figures[day1]["d1_retained"], figures[day1]["d7_retained"]) == (0, 0)
    assert figures["2031-01-12"]["events"] == 0 and figures["2031-01-12"]["d1_retention"] is None


def test_concurrent_handlers_on_overlapping_batches_count_once(standin, new_player):
    players = [new_player().player_id for _ in range(5)]
    day = "2031-02-03"
    for i, player in enumerate(players):
        _send(player, day, ["session_start"] + ["level_start"] * i)
    records = stream_records(set(players))
    barrier = threading.Barrier(4)

    def handle(part: list[dict[str, Any]]) -> None:
        barrier.wait()
        count_stream_records(part)

    parts = [records, records[::2], records[1::2], records[3:]]
    threads = [threading.Thread(target=handle, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    row = _figures(day, day)[day]
    assert row["events"] == 5 + sum(range(5))
    assert row["active_players"] == 5 and row["new_players"] == 5 and row["sessions"] == 5
    assert row["events_by_type"] == {"session_start": 5, "level_start": sum(range(5))}


def test_modify_and_remove_records_never_count(standin, new_player):
    player = new_player().player_id
    day = "2031-03-05"
    _send(player, day, ["purchase"])
    (insert,) = [r for r in stream_records({player}) if r["eventName"] == "INSERT"]
    modify = {**insert, "eventName": "MODIFY"}
    remove = {"eventName": "REMOVE", "dynamodb": {"Keys": insert["dynamodb"]["Keys"]}}
    assert count_stream_records([modify, remove]).events_seen == 0
    assert _figures(day, day)[day]["events"] == 0
    count_stream_records([insert, modify])
    assert _figures(day, day)[day]["events"] == 1


def test_admin_summary_route(api, admin, new_player):
    player = new_player()
    day = "2031-04-01"
    _send(player.player_id, day, ["session_start", "match_start"])
    count_stream_records(stream_records({player.player_id}))
    resp = api.get("/admin/analytics/summary?from=2031-03-31&to=2031-04-02", player=admin)
    assert resp.status == 200, resp.body
    body = resp.json
    assert (body["first_day"], body["last_day"]) == ("2031-03-31", "2031-04-02")
    assert [d["day"] for d in body["days"]] == ["2031-03-31", "2031-04-01", "2031-04-02"]
    assert body["days"][1]["active_players"] == 1 and body["days"][1]["sessions"] == 1
    assert body["days"][1]["events_by_type"] == {"match_start": 1, "session_start": 1}
    assert body["totals"]["events"] == 2
    default = api.get("/admin/analytics/summary", player=admin)
    assert default.status == 200 and len(default.json["days"]) == 7


def test_admin_summary_refuses_bad_ranges_and_players(api, admin, new_player):
    assert api.get("/admin/analytics/summary", player=new_player()).status == 403
    for query, field in (
        ("from=2031-01-01&to=2031-06-01", "from"),
        ("from=2031-02-01&to=2031-01-01", ""),
        ("from=yesterday", "from"),
        ("from=2031-01-01&to=2031-01-02&x=1", "x"),
    ):
        resp = api.get(f"/admin/analytics/summary?{query}", player=admin)
        assert resp.status == 400, (query, resp.body)
        if field:
            assert resp.json["details"]["field"] == field
