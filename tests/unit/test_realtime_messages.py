"""Realtime messages and pushes on in-memory fakes: schemas, mapping, stale connections."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from chalicelib.api.openapi import build_document
from chalicelib.models.realtime import message_schemas
from chalicelib.services import notify, realtime
from chalicelib.services.notify import Notice
from chalicelib.storage.connections import Connection

SCHEMAS = message_schemas()
NOW = 1_700_000_000.0


class FakeRepo:
    def __init__(self, connections: list[Connection]) -> None:
        self.connections = list(connections)
        self.queried: list[str] = []

    def of_player(self, player_id: str, now: float) -> list[Connection]:
        self.queried.append(player_id)
        return [c for c in self.connections if c.player_id == player_id and c.expires_at > now]

    def remove(self, player_id: str, connection_id: str) -> None:
        self.connections = [c for c in self.connections if c.connection_id != connection_id]

    def every_open(self) -> list[tuple[str, str]]:
        return [(c.player_id, c.connection_id) for c in self.connections]


class FakeApi:
    def __init__(self, gone: set[str] = frozenset(), broken: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.gone, self.broken = gone, broken
        self.posted: list[tuple[str, dict[str, Any]]] = []

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:
        if ConnectionId in self.gone:
            raise ClientError({"Error": {"Code": "GoneException", "Message": ""}}, "PostToConnection")
        if ConnectionId in self.broken:
            raise ClientError({"Error": {"Code": "LimitExceededException", "Message": ""}}, "PostToConnection")
        self.posted.append((ConnectionId, json.loads(Data)))


def conn(player: str, cid: str, expires_at: int = 2**40) -> Connection:
    return Connection(connection_id=cid, player_id=player, connected_at=0, expires_at=expires_at)


def test_every_message_type_has_a_schema_in_the_openapi_document() -> None:
    assert set(SCHEMAS) == {
        "match_found",
        "notification",
        "achievement_unlocked",
        "ticket_timed_out",
        "period_closed",
        "pong",
        "error",
        "client",
    }
    assert build_document()["x-websocket-messages"] == SCHEMAS


@pytest.mark.parametrize(
    ("notice", "kind"),
    [
        (
            Notice(
                "p",
                "match_found",
                "Match found",
                data={"match_id": "m", "queue": "duel", "region": "eu"},
                push_data={"ticket_id": "t", "teams": [["p"], ["q"]], "players": ["p", "q"]},
            ),
            "match_found",
        ),
        (
            Notice(
                "p",
                "achievement_unlocked",
                "Achievement unlocked: First",
                "Kill one",
                data={"achievement_id": "first", "points": 5},
            ),
            "achievement_unlocked",
        ),
        (
            Notice(
                "p",
                "leaderboard_period_ended",
                "#1",
                data={"board": "b", "period": "2024-01-01", "rank": 1, "score": 3.5},
            ),
            "period_closed",
        ),
        (Notice("p", "gift", "A gift", data={"gems": 3}), "notification"),
    ],
)
def test_notices_become_typed_messages_that_follow_their_schema(notice: Notice, kind: str) -> None:
    msg = realtime.notice_message(notice, "n123", NOW)
    assert msg is not None and msg["type"] == kind
    jsonschema.validate(msg, SCHEMAS[kind])
    if kind == "achievement_unlocked":
        assert msg["data"]["title"] == "First"


def test_a_generic_notice_that_was_not_stored_is_not_pushed() -> None:
    assert realtime.notice_message(Notice("p", "gift", "A gift"), None, NOW) is None


def test_a_message_that_breaks_its_schema_never_leaves() -> None:
    with pytest.raises(ValidationError):
        realtime.message("match_found", {"queue": "duel"}, NOW)


@pytest.mark.parametrize(
    "body", [None, "", "not json", "[]", '{"action": "dance"}', '{"action": "ping", "extra": 1}', "x" * 5000]
)
def test_anything_but_a_ping_gets_an_error_message(body: str | None) -> None:
    msg = realtime.client_message(body, NOW)
    assert msg["type"] == "error" and msg["data"]["code"] == "invalid"
    jsonschema.validate(msg, SCHEMAS["error"])


def test_ping_gets_pong() -> None:
    msg = realtime.client_message('{"action": "ping"}', NOW)
    assert msg["type"] == "pong"
    jsonschema.validate(msg, SCHEMAS["pong"])


def test_token_from_header_any_case_or_from_the_query() -> None:
    assert realtime.token_of({"AUTHORIZATION": "Bearer a"}, {"token": "b"}) == "Bearer a"
    assert realtime.token_of({}, {"token": "b"}) == "b"
    assert realtime.token_of(None, None) == ""


def test_push_reaches_every_device_of_the_player_only_and_forgets_gone_ones() -> None:
    repo = FakeRepo(
        [
            conn("p", "phone"),
            conn("p", "tablet"),
            conn("p", "old"),
            conn("q", "other"),
            conn("p", "expired", expires_at=10),
        ]
    )
    api = FakeApi(gone={"old"})
    delivery = realtime.push_to_players(
        ["p", "p"], realtime.message("pong", {"server_time": "x"}, NOW), repo=repo, api=api, clock=lambda: NOW
    )  # type: ignore[arg-type]
    assert sorted(cid for cid, _ in api.posted) == ["phone", "tablet"]
    assert (delivery.sent, delivery.gone, delivery.failed) == (2, 1, 0)
    assert [c.connection_id for c in repo.connections] == ["phone", "tablet", "other", "expired"]
    assert repo.queried == ["p"]  # a player named twice is read once


def test_a_failing_post_is_counted_not_raised_and_the_connection_kept() -> None:
    repo = FakeRepo([conn("p", "busy"), conn("p", "ok")])
    api = FakeApi(broken={"busy"})
    delivery = realtime.push_to_players(
        ["p"], realtime.message("pong", {"server_time": "x"}, NOW), repo=repo, api=api, clock=lambda: NOW
    )  # type: ignore[arg-type]
    assert (delivery.sent, delivery.gone, delivery.failed) == (1, 0, 1)
    assert len(repo.connections) == 2


def test_a_broken_pusher_never_fails_the_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def notice(self, notice: Notice, notification_id: str | None) -> None:
            raise RuntimeError("down")

        def signal(self, player_ids: list[str], kind: str, data: dict[str, Any]) -> None:
            raise RuntimeError("down")

        def announce(self, notification: dict[str, Any]) -> None:
            raise RuntimeError("down")

    monkeypatch.setattr(notify, "_pusher", Broken())
    monkeypatch.setattr(notify, "_sink", lambda notice: "n1")
    notify.send(Notice("p", "gift", "x"))
    notify.signal(["p"], "ticket_timed_out", {})
    notify.announce({"id": "b1"})


def test_a_repeated_notice_is_stored_once_and_pushed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pushed: list[str | None] = []

    class Recorder:
        def notice(self, notice: Notice, notification_id: str | None) -> None:
            pushed.append(notification_id)

    seen: set[str] = set()

    def sink(notice: Notice) -> str | None:
        if notice.dedupe_key in seen:
            return None
        seen.add(str(notice.dedupe_key))
        return "n1"

    monkeypatch.setattr(notify, "_pusher", Recorder())
    monkeypatch.setattr(notify, "_sink", sink)
    for _ in range(3):
        notify.send(Notice("p", "match_found", "x", dedupe_key="match:m:p"))
    assert pushed == ["n1"]
