"""Fixtures for route tests: the Chalice app on the stand-in, and players with tokens."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api.identity import reset_identity
from chalicelib.config import reset_settings


@dataclass
class Player:
    player_id: str
    id_token: str
    access_token: str
    refresh_token: str
    username: str
    password: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.id_token}"}


class Api:
    """chalice.test.Client with JSON helpers."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        player: Player | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Response:
        hdrs = {"Content-Type": "application/json", **(player.auth if player else {}), **(headers or {})}
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        resp = self.client.http.request(method, path, headers=hdrs, body=payload)
        return Response(resp.status_code, resp.headers, resp.body)

    def get(self, path: str, player: Player | None = None, **kw: Any) -> Response:
        return self.call("GET", path, player=player, **kw)

    def post(self, path: str, body: Any = None, player: Player | None = None, **kw: Any) -> Response:
        return self.call("POST", path, body, player=player, **kw)

    def patch(self, path: str, body: Any = None, player: Player | None = None, **kw: Any) -> Response:
        return self.call("PATCH", path, body, player=player, **kw)

    def put(self, path: str, body: Any = None, player: Player | None = None, **kw: Any) -> Response:
        return self.call("PUT", path, body, player=player, **kw)

    def delete(self, path: str, body: Any = None, player: Player | None = None, **kw: Any) -> Response:
        return self.call("DELETE", path, body, player=player, **kw)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@pytest.fixture(scope="session")
def chalice_app(standin: Any) -> Any:
    os.environ["GUEST_RATE_LIMIT"] = "100000"
    reset_settings()
    reset_identity()
    import app as app_module

    return app_module.app


@pytest.fixture(scope="session")
def api(chalice_app: Any) -> Iterator[Api]:
    with Client(chalice_app) as client:
        yield Api(client)


@pytest.fixture
def new_player(api: Api) -> Callable[[], Player]:
    def make() -> Player:
        resp = api.post("/auth/guest", {})
        assert resp.status == 201, resp.body
        data = resp.json
        return Player(
            data["player_id"],
            data["id_token"],
            data["access_token"],
            data["refresh_token"],
            data["username"],
            data["password"],
        )

    return make


@pytest.fixture(scope="session")
def admin(api: Api, standin: Any) -> Player:
    resp = api.post("/auth/login", {"username": "admin", "password": "Admin-local-1"})
    assert resp.status == 200, resp.body
    data = resp.json
    return Player(
        data["player_id"], data["id_token"], data["access_token"], data["refresh_token"], "admin", "Admin-local-1"
    )
