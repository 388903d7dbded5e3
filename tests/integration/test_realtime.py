"""Realtime pushes end to end: real WebSocket clients on the local gateway, the app's own
handlers, pushes through boto3's `apigatewaymanagementapi` client to the gateway's
`@connections` API, and writes made through the HTTP routes (chalice.test.Client).

No test waits on time: a socket's messages arrive in order, so "nothing else was pushed"
is checked by a ping whose pong must be the next message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from chalicelib.config import reset_settings
from chalicelib.game_config import get_game_config
from chalicelib.models.realtime import message_schemas
from chalicelib.services import leaderboards as leaderboard_service
from chalicelib.services import matchmaking as matchmaking_service
from chalicelib.storage import aws
from chalicelib.storage.connections import Connection, ConnectionsRepository
from chalicelib.storage.leaderboards import LeaderboardsRepository
from chalicelib.storage.matchmaking import MatchmakingRepository
from chalicelib.storage.players import PlayersRepository, StatWrite
from local_backend.ws_gateway import Gateway, app_handlers
from tests.tokens import bad_tokens

RECV_TIMEOUT = 30  # a backstop against a hang, never a synchronisation
SCHEMAS = message_schemas()


@pytest.fixture(scope="module")
def gateway(chalice_app: Any) -> Iterator[Gateway]:
    import app as app_module

    gw = Gateway(app_handlers(app_module))
    gw.bind_management()
    os.environ["WEBSOCKET_MANAGEMENT_URL"] = gw.management_url
    reset_settings()
    aws.reset_clients()
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()
        os.environ.pop("WEBSOCKET_MANAGEMENT_URL", None)
        reset_settings()
        aws.reset_clients()


class Socket:
    """A real WebSocket client with helpers to read typed messages."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn

    def next(self) -> dict[str, Any]:
        msg = json.loads(self.conn.recv(timeout=RECV_TIMEOUT))
        jsonschema.validate(msg, SCHEMAS[msg["type"]])
        return msg  # type: ignore[no-any-return]

    def expect(self, kind: str) -> dict[str, Any]:
        msg = self.next()
        assert msg["type"] == kind, msg
        return msg

    def nothing_pending(self) -> None:
        """Everything pushed so far has been read: the answer to a ping comes next."""
        self.conn.send(json.dumps({"action": "ping"}))
        self.expect("pong")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def open_socket(gateway: Gateway) -> Iterator[Callable[..., Socket]]:
    opened: list[Socket] = []

    def make(player: Any = None, token: str | None = None, *, in_query: bool = False) -> Socket:
        token = token if token is not None else player.id_token
        if in_query:
            conn = connect(f"{gateway.url}?token={token}", open_timeout=RECV_TIMEOUT)
        else:
            conn = connect(
                gateway.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=RECV_TIMEOUT
            )
        sock = Socket(conn)
        opened.append(sock)
        return sock

    yield make
    for sock in opened:
        sock.close()


@pytest.fixture
def rated(new_player: Callable[[], Any]) -> Callable[[float], Any]:
    def make(rating: float) -> Any:
        player = new_player()
        PlayersRepository().apply_stats(player.player_id, [StatWrite("rating", "latest", rating)], "2024-01-01")
        return player

    return make


def _refusal(gateway: Gateway, headers: dict[str, str] | None = None, query: str = "") -> Any:
    with pytest.raises(InvalidStatus) as refused:
        connect(gateway.url + query, additional_headers=headers or {}, open_timeout=RECV_TIMEOUT)
    return refused.value.response


# -- connecting ------------------------------------------------------------------------


def test_connect_without_token_is_refused_401(gateway):
    response = _refusal(gateway)
    assert response.status_code == 401
    assert json.loads(response.body)["code"] == "missing_token"


def test_every_bad_token_is_refused_as_http_refuses_it(api, gateway, new_player):
    player = new_player()
    for name, token in bad_tokens(player.id_token).items():
        http = api.get("/notifications", headers={"Authorization": f"Bearer {token}"})
        assert http.status == 401, name
        response = _refusal(gateway, {"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert json.loads(response.body)["code"] == http.json["code"], name
    # Nothing was recorded for any of them.
    assert ConnectionsRepository().of_player(player.player_id, 0) == []


def test_deleted_account_is_refused_401_on_connect_as_on_http(api, gateway, new_player):
    player = new_player()
    assert api.delete("/players/me", player=player).status in (200, 204)
    http = api.get("/notifications", player=player)
    assert http.status == 401 and http.json["code"] == "account_deleted"
    response = _refusal(gateway, player.auth)
    assert response.status_code == 401
    assert json.loads(response.body)["code"] == "account_deleted"
    assert ConnectionsRepository().of_player(player.player_id, 0) == []


def test_banned_account_is_refused_403_on_connect(api, gateway, admin, new_player):
    player = new_player()
    banned = api.post(f"/admin/players/{player.player_id}/ban", {"reason": "cheating"}, player=admin)
    assert banned.status == 200, banned.body
    response = _refusal(gateway, player.auth, query="")
    assert response.status_code == 403
    assert json.loads(response.body)["code"] == "account_banned"
    # The query-string form is checked the same way.
    response = _refusal(gateway, query=f"?token={player.id_token}")
    assert response.status_code == 403
    assert ConnectionsRepository().of_player(player.player_id, 0) == []


def test_open_sockets_are_closed_when_the_account_is_banned_or_deleted(api, gateway, admin, new_player, open_socket):
    banned, deleted = new_player(), new_player()
    banned_sock, deleted_sock = open_socket(banned), open_socket(deleted)
    banned_sock.nothing_pending()
    deleted_sock.nothing_pending()
    assert api.post(f"/admin/players/{banned.player_id}/ban", {"reason": "cheating"}, player=admin).status == 200
    assert api.delete("/players/me", player=deleted).status in (200, 204)
    for sock in (banned_sock, deleted_sock):
        with pytest.raises(ConnectionClosed):
            sock.conn.recv(timeout=RECV_TIMEOUT)
    assert ConnectionsRepository().of_player(deleted.player_id, 0) == []


def test_connect_with_header_or_query_token_records_the_connection(gateway, new_player, open_socket):
    player = new_player()
    first = open_socket(player)
    second = open_socket(player, in_query=True)
    first.nothing_pending()
    second.nothing_pending()
    assert len(ConnectionsRepository().of_player(player.player_id, 0)) == 2


def test_bad_client_message_gets_an_error_and_the_socket_stays_open(gateway, new_player, open_socket):
    sock = open_socket(new_player())
    for bad in ("not json", json.dumps({"action": "dance"}), json.dumps({"action": "ping", "x": 1}), "x" * 2000):
        sock.conn.send(bad)
        error = sock.expect("error")
        assert error["data"]["code"] == "invalid"
    sock.nothing_pending()


# -- pushes ----------------------------------------------------------------------------


def test_match_found_is_pushed_to_both_players_when_the_claim_commits(api, gateway, rated, new_player, open_socket):
    first, second, stranger = rated(3700), rated(3705), new_player()
    a_sock, b_sock, s_sock = open_socket(first), open_socket(second), open_socket(stranger)
    a = api.post("/matchmaking/tickets", {"queue": "duel", "region": "us-east-1"}, player=first)
    assert a.status == 201 and a.json["status"] == "searching", a.body
    b = api.post("/matchmaking/tickets", {"queue": "duel", "region": "us-east-1"}, player=second)
    assert b.status == 201 and b.json["status"] == "matched", b.body
    match = b.json["match"]

    # The first player never polled: the push is how they learn.
    pushed_a, pushed_b = a_sock.expect("match_found"), b_sock.expect("match_found")
    for pushed, ticket in ((pushed_a, a.json["ticket_id"]), (pushed_b, b.json["ticket_id"])):
        assert pushed["data"]["match_id"] == match["match_id"]
        assert pushed["data"]["ticket_id"] == ticket
        assert sorted(pushed["data"]["players"]) == sorted([first.player_id, second.player_id])
        assert pushed["data"]["teams"] == match["teams"]
        assert pushed["data"]["notification_id"]
    s_sock.nothing_pending()
    a_sock.nothing_pending()


def test_admin_notification_reaches_both_devices_and_no_other_player(api, gateway, admin, new_player, open_socket):
    player, other = new_player(), new_player()
    phone, tablet, others = open_socket(player), open_socket(player), open_socket(other)
    sent = api.post(
        "/admin/notifications",
        {"player_id": player.player_id, "kind": "gift", "title": "A gift", "body": "100 gems"},
        player=admin,
    )
    assert sent.status in (200, 201), sent.body
    for device in (phone, tablet):
        note = device.expect("notification")
        assert note["data"]["id"] == sent.json["id"]
        assert note["data"]["title"] == "A gift" and note["data"]["broadcast"] is False
    others.nothing_pending()


def test_broadcast_reaches_every_open_connection(api, gateway, admin, new_player, open_socket):
    one, two = open_socket(new_player()), open_socket(new_player())
    sent = api.post("/admin/notifications", {"broadcast": True, "kind": "news", "title": "Season 2"}, player=admin)
    assert sent.status in (200, 201), sent.body
    for sock in (one, two):
        note = sock.expect("notification")
        assert note["data"]["id"] == sent.json["id"] and note["data"]["broadcast"] is True


def test_achievement_unlock_is_pushed(api, gateway, new_player, open_socket):
    player = new_player()
    sock = open_socket(player)
    resp = api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player)
    assert resp.status == 200, resp.body
    unlocked = sock.expect("achievement_unlocked")
    assert unlocked["data"]["achievement_id"] == "first_blood"
    assert unlocked["data"]["title"] and unlocked["data"]["notification_id"]
    # Once: the same threshold crossed again pushes nothing.
    assert api.post("/players/me/stats", {"updates": {"kills": 1}}, player=player).status == 200
    sock.nothing_pending()


def test_ticket_timed_out_is_pushed_to_its_player(api, gateway, rated, open_socket):
    player = rated(-3000)
    sock = open_socket(player)
    ticket = api.post("/matchmaking/tickets", {"queue": "duel", "region": "us-east-1"}, player=player).json
    later = ticket_timeout(ticket) + 1
    view = matchmaking_service.poll_ticket(
        player_id=player.player_id,
        ticket_id=ticket["ticket_id"],
        config=get_game_config(),
        repo=MatchmakingRepository(),
        clock=lambda: later,
    )
    assert view["status"] == "timed_out"
    pushed = sock.expect("ticket_timed_out")
    assert pushed["data"] == {"ticket_id": ticket["ticket_id"], "queue": "duel", "region": "us-east-1"}


def ticket_timeout(ticket: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ticket["timeout_at"].replace("Z", "+00:00")).timestamp()


def test_period_closed_is_pushed_to_the_players_placed(api, gateway, new_player, open_socket):
    config = get_game_config()
    board = config.leaderboards["daily_score"]
    player = new_player()
    sock = open_socket(player)
    # The close notifies the board's top players: the board's best possible score is among
    # them whatever other tests on this stand-in submitted (equal scores share rank 1).
    resp = api.post("/leaderboards/daily_score/scores", {"score": int(board.max)}, player=player)
    assert resp.status in (200, 201), resp.body
    period = resp.json.get("period")
    assert period
    closed = leaderboard_service.close_period(
        board_id="daily_score", board=board, period=period, repo=LeaderboardsRepository()
    )
    assert closed
    pushed = sock.expect("period_closed")
    assert pushed["data"]["board"] == "daily_score" and pushed["data"]["period"] == period
    assert pushed["data"]["rank"] >= 1


# -- stale connections -----------------------------------------------------------------


def test_a_gone_connection_is_forgotten_and_the_write_still_succeeds(api, gateway, admin, new_player, open_socket):
    player = new_player()
    live = open_socket(player)
    live.nothing_pending()
    repo = ConnectionsRepository()
    # A connection API Gateway dropped without a $disconnect reaching the app.
    repo.add(Connection(connection_id="Z29uZS1jb25u", player_id=player.player_id, connected_at=0, expires_at=2**40))
    sent = api.post(
        "/admin/notifications", {"player_id": player.player_id, "kind": "gift", "title": "Still here"}, player=admin
    )
    assert sent.status in (200, 201), sent.body
    assert live.expect("notification")["data"]["id"] == sent.json["id"]
    remaining = [c.connection_id for c in repo.of_player(player.player_id, 0)]
    assert "Z29uZS1jb25u" not in remaining and len(remaining) == 1


def test_closing_the_socket_forgets_the_connection(gateway, new_player, open_socket):
    player = new_player()
    sock = open_socket(player)
    sock.nothing_pending()
    repo = ConnectionsRepository()
    [connection] = repo.of_player(player.player_id, 0)
    sock.close()
    assert gateway.wait_disconnected(connection.connection_id, timeout=RECV_TIMEOUT)
    assert repo.of_player(player.player_id, 0) == []


def test_expired_connection_items_are_not_pushed_to(gateway, new_player):
    player = new_player()
    repo = ConnectionsRepository()
    repo.add(Connection(connection_id="b2xkLWNvbm4=", player_id=player.player_id, connected_at=0, expires_at=10))
    assert repo.of_player(player.player_id, 11) == []
