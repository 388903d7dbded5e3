"""Account status check: what refusing deleted and banned tokens costs a request.

Each hot route is called through the whole app (Chalice's test client, token verification
stubbed since it makes no AWS request), once without the check (`before`, the check
patched out) and once with it (`after`). The check is one strongly consistent GetItem of
a key that exists only for banned or deleted accounts: for an active player it reads no
item (DynamoDB bills it as 1 read unit, the minimum for a consistent read).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from bench.harness import Figure, count_requests
from bench.moto_env import moto_tables
from chalicelib.services.tokens import Claims
from chalicelib.storage import aws

DYNAMO_READS = ("GetItem", "Query", "BatchGetItem", "TransactGetItems", "Scan")

CASES: dict[str, tuple[str, str, Any]] = {
    # `deaths` feeds no board and no achievement: the figure is the route's own cost.
    "stats_update": ("POST", "/players/me/stats", {"updates": {"deaths": 1}}),
    "stats_read": ("GET", "/players/me/stats", None),
    "profile_read": ("GET", "/players/me", None),
}


@contextmanager
def _app_client(player_id: str) -> Iterator[Any]:
    from chalice.test import Client

    import app as app_module
    from chalicelib.api import http

    claims = Claims(sub=player_id, username=player_id, groups=(), token_use="id", raw={})
    with mock.patch.object(http, "authenticate", lambda headers: claims), Client(app_module.app) as client:
        yield client


def _call(client: Any, method: str, path: str, body: Any) -> int:
    resp = client.http.request(
        method, path, headers={"Content-Type": "application/json"}, body=json.dumps(body) if body else None
    )
    return int(resp.status_code)


def run() -> list[Figure]:
    from chalicelib.api import http
    from chalicelib.services import account_status

    figures: list[Figure] = []
    with moto_tables(), _app_client("bench-player") as client:
        for name, (method, path, body) in CASES.items():
            for _ in range(2):  # warm: the profile and the stats item exist
                assert _call(client, method, path, body) == 200
            for label in ("before", "after"):
                patch = (
                    mock.patch.object(http.account_status, "check_active", lambda **_: "active")
                    if label == "before"
                    else mock.patch.object(http, "account_status", account_status)
                )
                with patch, count_requests(aws.dynamodb()) as counted:
                    status = _call(client, method, path, body)
                assert status == 200, (name, label, status)
                reads = sum(counted.requests[op] for op in DYNAMO_READS)
                figures += [
                    Figure(f"account_status.{name}.{label}.requests", counted.total_requests, "requests"),
                    Figure(f"account_status.{name}.{label}.read_requests", reads, "requests"),
                    Figure(f"account_status.{name}.{label}.items_read", counted.items_read, "items"),
                ]
        # A banned player's request stops at the check: one read, one item, nothing else.
        from chalicelib.storage.players import PlayersRepository

        PlayersRepository().set_ban("bench-player", banned=True, reason="bench", by="bench", at="2026-01-01")
        with count_requests(aws.dynamodb()) as counted:
            assert _call(client, "POST", "/players/me/stats", {"updates": {"kills": 1}}) == 403
        figures += [
            Figure("account_status.banned_refusal.requests", counted.total_requests, "requests"),
            Figure("account_status.banned_refusal.items_read", counted.items_read, "items"),
        ]
    return figures
