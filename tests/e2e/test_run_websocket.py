"""`make run` serves the WebSocket API too: the banner prints its URL, and a push made by
the HTTP API's process reaches real WebSocket clients through the gateway's @connections."""

from __future__ import annotations

import json
import re

import pytest
import requests
from websockets.sync.client import connect

from tests.e2e.test_run_command import _url, start, stop

pytestmark = pytest.mark.e2e
RECV_TIMEOUT = 60  # a backstop against a hang, never a synchronisation


def test_run_prints_the_websocket_url_and_two_players_get_match_found_without_polling(tmp_path):
    proc, lines = start(tmp_path / "state")
    try:
        api = _url(lines)
        [ws_line] = [x for x in lines if x.startswith("WebSocket API at ")]
        ws_url = re.match(r"WebSocket API at (ws://\S+)", ws_line).group(1)
        outputs = json.loads((tmp_path / "state" / "outputs.json").read_text())
        assert outputs["websocket_url"] == ws_url

        guests = [requests.post(f"{api}/auth/guest", json={}, timeout=30).json() for _ in range(2)]
        sockets = [
            connect(ws_url, additional_headers={"Authorization": f"Bearer {g['id_token']}"}, open_timeout=RECV_TIMEOUT)
            for g in guests
        ]
        try:
            # Heartbeat: a ping is answered on the same socket.
            sockets[0].send(json.dumps({"action": "ping"}))
            assert json.loads(sockets[0].recv(timeout=RECV_TIMEOUT))["type"] == "pong"
            tickets = []
            for guest in guests:
                resp = requests.post(
                    f"{api}/matchmaking/tickets",
                    json={"queue": "standard", "region": "eu-west-1"},
                    headers={"Authorization": f"Bearer {guest['id_token']}"},
                    timeout=30,
                )
                assert resp.status_code == 201, resp.text
                tickets.append(resp.json())
            assert tickets[0]["status"] == "searching" and tickets[1]["status"] == "matched"
            match_id = tickets[1]["match"]["match_id"]
            for sock, ticket in zip(sockets, tickets, strict=True):
                msg = json.loads(sock.recv(timeout=RECV_TIMEOUT))
                assert msg["type"] == "match_found", msg
                assert msg["data"]["match_id"] == match_id and msg["data"]["ticket_id"] == ticket["ticket_id"]
        finally:
            for sock in sockets:
                sock.close()
    finally:
        code, rest = stop(proc)
    assert code == 0, rest
