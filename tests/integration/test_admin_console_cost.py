"""What the console's reads cost in DynamoDB requests, counted with a botocore hook (no timing)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import botocore.client
import pytest

from chalicelib.game_config import get_game_config


@pytest.fixture
def requests_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    counted: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def spy(self, operation, params):  # type: ignore[no-untyped-def]
        if self.meta.service_model.service_name == "dynamodb":
            counted[operation] += 1
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    yield counted


def _cost(api, admin, path, counted):  # type: ignore[no-untyped-def]
    counted.clear()
    resp = api.get(path, player=admin)
    assert resp.status == 200, resp.body
    figures = dict(counted)
    print(f"console.cost {path.split('?')[0]} {sum(figures.values())} requests {figures}")
    return figures


def test_player_search_is_a_few_gets_and_at_most_one_query(api, admin, new_player, requests_made):
    player = new_player()
    name = f"Costly {uuid.uuid4().hex[:6]}"
    api.patch("/players/me", {"display_name": name}, player=player)
    # Every authenticated request first reads the caller's account status (one GetItem).
    assert _cost(api, admin, f"/admin/players?q={player.player_id}", requests_made) == {"GetItem": 2}
    assert _cost(api, admin, f"/admin/players?q={name}", requests_made) == {"GetItem": 2, "Query": 1}
    assert _cost(api, admin, "/admin/players?q=nobody@example.com", requests_made) == {"GetItem": 3, "Query": 1}


def test_matchmaking_overview_is_bounded_by_queues_not_by_tickets(api, admin, requests_made):
    queues = get_game_config().queues
    regions = sum(len(q.regions) for q in queues.values())
    figures = _cost(api, admin, "/admin/matchmaking", requests_made)
    assert "Scan" not in figures
    # One COUNT per queue and region, and per shard of recent_matches: a COUNT and a page,
    # over this hour and the last (two hours when the last hour spans an hour boundary).
    assert figures["GetItem"] == 1
    assert regions + 2 * 4 <= figures["Query"] <= regions + 2 * 4 * 2


def test_audit_page_reads_one_month_when_it_fills_the_page(api, admin, new_player, requests_made):
    player = new_player()
    for _ in range(3):
        api.post(f"/admin/players/{player.player_id}/stats", {"updates": {"rating": 1}}, player=admin)
    assert _cost(api, admin, "/admin/audit?limit=2", requests_made) == {"GetItem": 1, "Query": 1}
    assert _cost(api, admin, f"/admin/audit?limit=2&target={player.player_id}", requests_made) == {
        "GetItem": 1,
        "Query": 1,
    }
