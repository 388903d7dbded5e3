"""Analytics counted with the events they store: exact daily figures under resends,
concurrency and a redelivered events stream."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from chalicelib.config import get_settings
from chalicelib.game_config import get_game_config
from chalicelib.services import analytics
from chalicelib.services import events as events_service
from chalicelib.storage.analytics import AnalyticsRepository
from chalicelib.storage.events import EventsRepository
from local_backend.events import EventRunner
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


def _deliver_stream_to_app(state_dir: Path) -> None:
    """Every record of every stream the app reads, from the start, through the local
    runner (a fresh checkpoint folder each time: Lambda's redelivery of the same records)."""
    import app as application

    settings = get_settings()
    session = boto3.session.Session(region_name=settings.region)
    runner = EventRunner(
        application.app,
        dynamodb=session.client("dynamodb"),
        streams=session.client("dynamodbstreams"),
        state_dir=state_dir / uuid.uuid4().hex,
    )
    runner.poll_streams()


def _figures(first: str, last: str, today: str = "2031-12-31") -> dict[str, dict[str, Any]]:
    """The summary as read on `today` (by default after every day of these tests ended)."""
    midday = dt.datetime.combine(dt.date.fromisoformat(today), dt.time(12), dt.UTC).timestamp()
    result = analytics.summary(
        first=dt.date.fromisoformat(first),
        last=dt.date.fromisoformat(last),
        config=get_game_config().events,
        repo=AnalyticsRepository(),
        clock=lambda: midday,
    )
    return {row["day"]: row for row in result["days"]}


def test_a_days_figures_equal_what_was_sent(standin, new_player, tmp_path):
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

    # The events stream, delivered twice (from its start) to the app's stream handlers:
    # nothing counts from the stream, so a redelivery adds nothing.
    before = _figures(day0, day7)
    records = stream_records({a, b, c, e})
    assert len([r for r in records if r["eventName"] == "INSERT"]) == sum(len(v) for v in sent.values())
    for _ in range(2):
        _deliver_stream_to_app(tmp_path)
    assert _figures(day0, day7) == before

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
    # Read while the cohort can still come back, a rate would be a false 0: it is null
    # until the cohort's next (seventh) day has ended, though the counts show.
    during = _figures(day0, day7, today=day1)
    assert (during[day0]["d1_retained"], during[day0]["d1_retention"], during[day0]["d7_retention"]) == (2, None, None)
    after_d1 = _figures(day0, day7, today=(dt.date.fromisoformat(day1) + dt.timedelta(days=1)).isoformat())
    assert after_d1[day0]["d1_retention"] == round(2 / 3, 4) and after_d1[day0]["d7_retention"] is None
    assert after_d1[day1]["d1_retention"] is None  # its next day is today


def test_concurrent_first_batches_of_a_day_count_the_player_once(standin, new_player):
    """Different batches of one player racing on a new day: active, new and D1 once."""
    players = [new_player().player_id for _ in range(3)]
    day0, day1 = "2031-02-03", "2031-02-04"
    for player in players:
        _send(player, day0, ["session_start"])
    barrier = threading.Barrier(4 * len(players))

    def handle(player: str, types: list[str]) -> None:
        barrier.wait()
        _send(player, day1, types)

    threads = [
        threading.Thread(target=handle, args=(p, ["session_start"] + ["level_start"] * i))
        for p in players
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figures = _figures(day0, day1)
    row = figures[day1]
    assert row["events"] == len(players) * (4 + 0 + 1 + 2 + 3)
    assert row["active_players"] == len(players) and row["new_players"] == 0 and row["sessions"] == 4 * len(players)
    assert row["events_by_type"] == {"session_start": 4 * len(players), "level_start": 6 * len(players)}
    assert figures[day0]["d1_retained"] == len(players) and figures[day0]["new_players"] == len(players)


def test_admin_summary_route(api, admin, new_player):
    player = new_player()
    day = "2031-04-01"
    _send(player.player_id, day, ["session_start", "match_start"])
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
