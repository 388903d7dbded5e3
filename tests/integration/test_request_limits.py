"""Request limits on every route: body size, non-finite numbers, path lengths, page sizes."""

from __future__ import annotations

import re

import pytest

import app as _app  # noqa: F401 - every route registered
from chalicelib.api.http import MAX_PATH_PARAM, ROUTES

BODY_ROUTES = sorted({(d.method, d.path, d.auth) for d in ROUTES if d.body is not None})
PARAM_ROUTES = sorted({(d.method, d.path, d.auth) for d in ROUTES if "{" in d.path and d.method == "GET"})


def _concrete(path: str, value: str = "x") -> str:
    return re.sub(r"{[^}]+}", value, path)


def _who(auth: str, player, admin):
    return admin if auth == "admin" else (player if auth == "player" else None)


@pytest.mark.parametrize(("method", "path", "auth"), BODY_ROUTES, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])
def test_every_body_over_the_limit_is_413(api, new_player, admin, method, path, auth):
    resp = api.call(
        method, _concrete(path), player=_who(auth, new_player(), admin), raw='{"pad": "' + "x" * 300_000 + '"}'
    )
    assert resp.status == 413, resp.body
    assert resp.json["code"] == "too_large"


@pytest.mark.parametrize(("method", "path", "auth"), BODY_ROUTES, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])
def test_every_body_with_a_non_finite_number_is_400(api, new_player, admin, method, path, auth):
    resp = api.call(method, _concrete(path), player=_who(auth, new_player(), admin), raw='{"x": NaN}')
    assert resp.status == 400, resp.body


@pytest.mark.parametrize(("method", "path", "auth"), PARAM_ROUTES, ids=[f"{m} {p}" for m, p, _ in PARAM_ROUTES])
def test_every_path_parameter_has_a_length_limit(api, new_player, admin, method, path, auth):
    resp = api.call(method, _concrete(path, "a" * (MAX_PATH_PARAM + 1)), player=_who(auth, new_player(), admin))
    assert resp.status == 400, resp.body


def test_page_sizes_are_capped_or_refused(api, new_player):
    player = new_player()
    top = api.get("/leaderboards/global?limit=100000", player=player)
    assert top.status == 200 and len(top.json["entries"]) <= 100
    assert api.get("/notifications?limit=100000", player=player).status == 400
    assert api.get("/saves?limit=100000", player=player).status == 400
    ids = ",".join(f"p{i}" for i in range(101))
    assert api.get(f"/leaderboards/global/players?ids={ids}", player=player).status == 400


def test_list_sizes_are_limited(api, new_player):
    player = new_player()
    events = {"events": [{"event_id": f"e{i}", "type": "level_start", "timestamp": 1, "data": {}} for i in range(26)]}
    assert api.post("/events", events, player=player).status == 413
    assert api.post("/notifications/read", {"ids": [f"n{i}" for i in range(101)]}, player=player).status == 400
    updates = {f"s{i}": 1 for i in range(51)}
    assert api.post("/players/me/stats", {"updates": updates}, player=player).status == 400
