"""The console's admin routes and static files, through chalice.test.Client on the stand-in."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

import pytest

from chalicelib.api.console import ASSETS, CONSOLE_DIR
from chalicelib.game_config import GAME_CONFIG_PATH, get_game_config
from chalicelib.game_config.schema import GameConfig as GameConfigSchema
from chalicelib.services import audit
from chalicelib.storage.audit import AuditRepository

ADMIN_READS = [
    "/admin/players?q=x",
    "/admin/players/{pid}/achievements",
    "/admin/players/{pid}/saves",
    "/admin/players/{pid}/saves/main",
    "/admin/players/{pid}/notifications",
    "/admin/matchmaking",
    "/admin/config",
    "/admin/audit",
]


def _name(prefix: str = "Hunt") -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


# -- static files and headers ----------------------------------------------------------------


def _headers(resp):
    return {k.lower(): v for k, v in resp.headers.items()}


def test_console_page_is_html_with_strict_headers(api):
    resp = api.get("/console")
    assert resp.status == 200
    headers = _headers(resp)
    assert headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    html = resp.body.decode()
    # No inline script or style anywhere in the page: every script has a src, no style attribute.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handlers are inline script"


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_console_assets_are_served_as_text_with_their_type(api, asset):
    resp = api.get(f"/console/{asset}")
    assert resp.status == 200
    expected = "text/javascript" if asset.endswith(".js") else "text/css"
    assert _headers(resp)["content-type"].startswith(expected)
    assert _headers(resp)["x-frame-options"] == "DENY"
    assert resp.body.decode() == (CONSOLE_DIR / ASSETS[asset][0]).read_text(encoding="utf-8")


def test_unknown_console_file_is_a_404_and_paths_do_not_escape(api):
    for name in ("app.py", "..%2Fapp.py", "index.html.bak", "vendor"):
        resp = api.get(f"/console/{name}")
        assert resp.status == 404, name
        assert resp.json["code"] == "not_found"


def test_vendored_chart_library_matches_its_readme():
    readme = (CONSOLE_DIR / "vendor" / "README.md").read_text()
    found = re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, flags=re.MULTILINE)
    sums = {name: digest for digest, name in found}
    assert set(sums) == {"uPlot.iife.min.js", "uPlot.min.css"}
    for name, digest in sums.items():
        assert hashlib.sha256((CONSOLE_DIR / "vendor" / name).read_bytes()).hexdigest() == digest
    assert "1.6.32" in (CONSOLE_DIR / "vendor" / "uPlot.iife.min.js").read_text()[:100]
    assert (
        "MIT" in (CONSOLE_DIR / "vendor" / "uPlot.LICENSE").read_text()
        or "Permission is hereby granted" in (CONSOLE_DIR / "vendor" / "uPlot.LICENSE").read_text()
    )


def test_console_script_never_uses_html_sinks():
    script = (CONSOLE_DIR / "console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    assert "localStorage" not in script  # tokens stay in sessionStorage / memory
    assert not list(Path(CONSOLE_DIR).glob("*.map"))


# -- the admin group is checked on every admin route -----------------------------------------


def test_every_new_admin_route_refuses_players_and_anonymous(api, new_player):
    player = new_player()
    for path in ADMIN_READS:
        path = path.format(pid=player.player_id)
        assert api.get(path).status == 401, path
        resp = api.get(path, player=player)
        assert resp.status == 403, path
        assert resp.json["code"] == "not_admin"
    for method, path in (
        ("DELETE", f"/admin/players/{player.player_id}"),
        ("DELETE", f"/admin/leaderboards/global/entries/{player.player_id}"),
    ):
        assert api.call(method, path, {}, player=player).status == 403
    assert api.get("/players/me", player=player).status == 200  # the refused delete did nothing


def test_audit_log_has_no_write_route(api, admin, chalice_app):
    methods = {m for path, routes in chalice_app.routes.items() if path.startswith("/admin/audit") for m in routes}
    assert methods == {"GET"}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        resp = api.call(method, "/admin/audit", {}, player=admin)
        assert resp.status == 405, method
        assert resp.json["code"] == "method_not_allowed" and resp.headers["Allow"] == "GET"


# -- player search: id, email, display name, no Scan ------------------------------------------


def test_find_a_player_by_id_email_and_name_in_any_case(api, admin, new_player):
    player = new_player()
    name = _name()
    assert api.patch("/players/me", {"display_name": name}, player=player).status == 200
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/auth/upgrade", {"email": email, "password": "Secret-pass-1"}, player=player).status == 200

    by_id = api.get(f"/admin/players?q={player.player_id}", player=admin).json
    assert by_id["matched_by"] == "id" and by_id["players"][0]["player_id"] == player.player_id
    by_email = api.get(f"/admin/players?q={email.upper()}", player=admin).json
    assert by_email["matched_by"] == "email" and by_email["players"][0]["player_id"] == player.player_id
    by_name = api.get(f"/admin/players?q={name.lower().replace(' ', '%20%20')}", player=admin).json
    assert by_name["matched_by"] == "name"
    assert [p["player_id"] for p in by_name["players"]] == [player.player_id]

    # A rename moves the player in the index: the old name no longer finds them.
    new_name = _name("Renamed")
    assert api.patch("/players/me", {"display_name": new_name}, player=player).status == 200
    assert api.get(f"/admin/players?q={name}", player=admin).json == {"matched_by": "none", "players": []}
    assert api.get(f"/admin/players?q={new_name}", player=admin).json["players"][0]["player_id"] == player.player_id


def test_search_makes_no_scan(api, admin, new_player, monkeypatch):
    import botocore.client

    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self, operation, params):  # type: ignore[no-untyped-def]
        calls.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    for q in ("someone@example.com", "Nobody Here", "not-an-id"):
        assert api.get(f"/admin/players?q={q}", player=admin).status == 200
    assert "Scan" not in calls
    assert set(calls) <= {"GetItem", "Query", "PutItem"}


def test_search_rejects_empty_and_oversized_queries(api, admin):
    assert api.get("/admin/players", player=admin).status == 400
    resp = api.get("/admin/players?q=" + "x" * 300, player=admin)
    assert resp.status == 400 and resp.json["details"]["field"] == "q"


# -- player views ------------------------------------------------------------------------------


def test_admin_reads_a_players_achievements_saves_and_inbox(api, admin, new_player):
    player = new_player()
    assert (
        api.put("/saves/main", {"data": {"level": 3, "name": "<b>x</b>"}, "expected_version": 0}, player=player).status
        == 200
    )
    assert (
        api.post("/admin/notifications", {"player_id": player.player_id, "title": "Hi there"}, player=admin).status
        == 201
    )
    pid = player.player_id
    saves = api.get(f"/admin/players/{pid}/saves", player=admin).json
    assert [s["slot"] for s in saves["slots"]] == ["main"]
    slot = api.get(f"/admin/players/{pid}/saves/main", player=admin).json
    assert slot["data"] == {"level": 3, "name": "<b>x</b>"} and slot["version"] == 1
    inbox = api.get(f"/admin/players/{pid}/notifications", player=admin).json
    assert "Hi there" in [n["title"] for n in inbox["notifications"]]
    achievements = api.get(f"/admin/players/{pid}/achievements", player=admin).json
    assert achievements["player_id"] == pid
    assert {a["id"] for a in achievements["achievements"]} == set(get_game_config().achievements)
    # Reading the inbox as an admin does not mark anything read for the player.
    mine = api.get("/notifications?unread_only=true", player=player).json
    assert "Hi there" in [n["title"] for n in mine["notifications"]]
    assert api.get("/admin/players/no-such-player/saves", player=admin).status == 404


def test_admin_deletes_an_account_with_a_reason(api, admin, new_player):
    player = new_player()
    resp = api.delete(f"/admin/players/{player.player_id}", {"reason": "GDPR request #77"}, player=admin)
    assert resp.status == 200, resp.body
    assert resp.json["deleted"] is True
    assert api.get(f"/admin/players/{player.player_id}", player=admin).status == 404
    assert api.post("/auth/login", {"username": player.username, "password": player.password}).status == 401
    entries = api.get(f"/admin/audit?target={player.player_id}", player=admin).json["entries"]
    assert entries[0]["action"] == "admin_delete_player" and entries[0]["reason"] == "GDPR request #77"
    # Retried (say the first answer was lost): it finishes the erasure again and succeeds.
    again = api.delete(f"/admin/players/{player.player_id}", {"reason": "again"}, player=admin)
    assert again.status == 200 and again.json["deleted"] is True
    assert api.delete("/admin/players/never-existed", {"reason": "x"}, player=admin).status == 404


# -- leaderboard entry removal keeps ranks exact -----------------------------------------------


def test_removing_an_entry_closes_up_the_ranks(api, admin, new_player):
    board = "daily_score"  # takes scores directly (global follows a stat)
    players = [new_player() for _ in range(4)]
    for i, p in enumerate(players):
        assert api.post(f"/leaderboards/{board}/scores", {"score": 9_000_000 + 1000 * (4 - i)}, player=p).status == 200
    ids = ",".join(p.player_id for p in players)
    before = {
        e["player_id"]: e["rank"]
        for e in api.get(f"/leaderboards/{board}/players?ids={ids}", player=admin).json["entries"]
    }
    total_before = api.get(f"/leaderboards/{board}?limit=1", player=admin).json["total_entries"]
    cheater = players[1]
    resp = api.delete(f"/admin/leaderboards/{board}/entries/{cheater.player_id}", {"reason": "aimbot"}, player=admin)
    assert resp.status == 200, resp.body
    assert resp.json["removed"] is True and resp.json["score"] == 9_003_000
    after = {
        e["player_id"]: e["rank"]
        for e in api.get(f"/leaderboards/{board}/players?ids={ids}", player=admin).json["entries"]
    }
    assert cheater.player_id not in after
    assert after[players[0].player_id] == before[players[0].player_id]
    assert after[players[2].player_id] == before[players[2].player_id] - 1
    assert after[players[3].player_id] == before[players[3].player_id] - 1
    assert api.get(f"/leaderboards/{board}?limit=1", player=admin).json["total_entries"] == total_before - 1
    # The cheater's own view agrees: no entry, no rank.
    assert api.get(f"/leaderboards/{board}/me", player=cheater).json["entry"] is None
    # A retried removal changes nothing and says so.
    again = api.delete(f"/admin/leaderboards/{board}/entries/{cheater.player_id}", {}, player=admin)
    assert again.status == 200 and again.json["removed"] is False
    assert api.get(f"/leaderboards/{board}?limit=1", player=admin).json["total_entries"] == total_before - 1
    assert api.delete(f"/admin/leaderboards/nope/entries/{cheater.player_id}", {}, player=admin).status == 404
    assert api.delete(f"/admin/leaderboards/{board}/entries/x?period=bad", {}, player=admin).status == 400


# -- matchmaking overview ---------------------------------------------------------------------


def test_matchmaking_overview_counts_waiting_and_recent_matches(api, admin, new_player):
    config = get_game_config()
    queue_id = "duel"
    region = config.queues[queue_id].regions[-1]
    before = api.get("/admin/matchmaking", player=admin).json
    waiting_before = {(q["queue"], r["region"]): r["waiting"] for q in before["queues"] for r in q["regions"]}
    assert {q["queue"] for q in before["queues"]} == set(config.queues)
    assert before["queues"][0]["rules"]["regions"]

    a, b = new_player(), new_player()
    # Skills far apart from everyone else's: set a rating no other test uses.
    for p in (a, b):
        assert (
            api.post(f"/admin/players/{p.player_id}/stats", {"updates": {"rating": 4321}}, player=admin).status == 200
        )
    first = api.post("/matchmaking/tickets", {"queue": queue_id, "region": region}, player=a)
    assert first.status == 201, first.body
    mid = api.get("/admin/matchmaking", player=admin).json
    waiting_mid = {(q["queue"], r["region"]): r["waiting"] for q in mid["queues"] for r in q["regions"]}
    assert waiting_mid[(queue_id, region)] == waiting_before[(queue_id, region)] + 1

    second = api.post("/matchmaking/tickets", {"queue": queue_id, "region": region}, player=b)
    assert second.status == 201 and second.json["status"] == "matched", second.body
    after = api.get("/admin/matchmaking", player=admin).json
    assert after["matches_last_hour"] == before["matches_last_hour"] + 1
    match_id = second.json["match"]["match_id"]
    recent = {m["match_id"]: m for m in after["recent_matches"]}
    assert match_id in recent and set(recent[match_id]["players"]) == {a.player_id, b.player_id}


# -- config, notifications with expiry ---------------------------------------------------------


def test_admin_config_is_the_whole_game_json(api, admin):
    config = api.get("/admin/config", player=admin).json["config"]
    # What the schema makes of game.json, every default included.
    assert config == GameConfigSchema.model_validate_json(GAME_CONFIG_PATH.read_bytes()).model_dump(mode="json")


def test_notification_expiry_is_chosen_by_the_admin(api, admin, new_player):
    player = new_player()
    body = {"player_id": player.player_id, "title": "Short lived", "expires_in_days": 2}
    assert api.post("/admin/notifications", body, player=admin).status == 201
    [item] = [n for n in api.get("/notifications", player=player).json["notifications"] if n["title"] == "Short lived"]
    import datetime as dt

    expires = dt.datetime.fromisoformat(item["expires_at"].replace("Z", "+00:00"))
    created = dt.datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
    assert dt.timedelta(days=2) < expires - created <= dt.timedelta(days=3)
    for bad in (0, 366, "3", 1.5):
        resp = api.post("/admin/notifications", {**body, "expires_in_days": bad}, player=admin)
        assert resp.status == 400 and resp.json["details"]["field"] == "expires_in_days", bad


# -- the audit log -----------------------------------------------------------------------------


def test_every_admin_write_is_audited_with_who_what_target_and_reason(api, admin, new_player):
    player = new_player()
    pid = player.player_id
    api.post(
        f"/admin/players/{pid}/stats",
        {"updates": {"rating": 1500}},
        player=admin,
        headers={"X-Audit-Reason": "tournament%20fix%20%E2%9C%93"},
    )
    ach = next(iter(a for a, d in get_game_config().achievements.items() if d.kind == "manual"))
    api.post(f"/admin/achievements/{ach}/grant", {"player_id": pid}, player=admin)
    api.post("/admin/notifications", {"player_id": pid, "title": "hello"}, player=admin)
    entries = api.get(f"/admin/audit?target={pid}", player=admin).json["entries"]
    assert [e["action"] for e in entries] == ["admin_send", "admin_grant", "admin_post_stats"]
    stats_entry = entries[-1]
    assert stats_entry["actor"] == "admin" and stats_entry["actor_id"] == admin.player_id
    assert stats_entry["reason"] == "tournament fix ✓"
    assert stats_entry["method"] == "POST" and stats_entry["status"] == 200
    assert '"rating":1500' in stats_entry["details"]
    assert entries[1]["params"] == {"achievement_id": ach}
    # Reads are not audited; refused writes are not either (nothing was written).
    api.get(f"/admin/players/{pid}", player=admin)
    api.post(f"/admin/players/{pid}/stats", {"updates": {"nope": 1}}, player=admin)
    assert len(api.get(f"/admin/audit?target={pid}", player=admin).json["entries"]) == 3
    # The global log shows them too, newest first, and pages without loss or repeat.
    newest = api.get("/admin/audit?limit=2", player=admin).json
    assert [e["id"] for e in newest["entries"]] == [e["id"] for e in entries[:2]]
    seen, cursor = [], None
    for _ in range(50):
        page = api.get("/admin/audit?limit=2" + (f"&cursor={cursor}" if cursor else ""), player=admin).json
        seen += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and {e["id"] for e in entries} <= set(seen)
    assert seen == sorted(seen, key=lambda i: i.split("|")[1], reverse=True)


def test_a_broadcast_is_audited_under_broadcast(api, admin):
    title = f"Maintenance {uuid.uuid4().hex[:6]}"
    assert api.post("/admin/notifications", {"broadcast": True, "title": title}, player=admin).status == 201
    entry = api.get("/admin/audit?target=broadcast&limit=1", player=admin).json["entries"][0]
    assert title in entry["details"] and entry["action"] == "admin_send"


def test_audit_cursor_and_limits_are_checked(api, admin):
    for query in ("cursor=abc", "cursor=%21%21", "limit=0", "limit=101"):
        resp = api.get(f"/admin/audit?{query}", player=admin)
        assert resp.status == 400, query


def test_audit_entry_is_clipped_and_a_store_failure_never_fails_the_write():
    entry = audit.entry_for(
        actor="a",
        actor_id="b",
        action="x",
        method="POST",
        path="/admin/x",
        params={},
        body={"reason": "r" * 900, "blob": "y" * 5000},
        header_reason=None,
        status=200,
    )
    assert entry.reason is not None and len(entry.reason) == audit.MAX_REASON
    assert len(entry.details) == audit.MAX_DETAILS

    class Broken(AuditRepository):
        def append(self, entry, now):  # type: ignore[no-untyped-def]
            raise RuntimeError("store down")

    assert audit.record(entry=entry, repo=Broken()) is None


def test_ban_and_unban_are_audited_with_their_reasons(api, admin, new_player):
    player = new_player()
    pid = player.player_id
    assert api.post(f"/admin/players/{pid}/ban", {"reason": "chargeback fraud"}, player=admin).status == 200
    assert api.get("/players/me", player=player).json["code"] == "account_banned"
    # A banned player is still found and shown to admins, with the status.
    assert api.get(f"/admin/players?q={pid}", player=admin).json["players"][0]["player_id"] == pid
    assert api.get(f"/admin/players/{pid}/status", player=admin).json["status"] == "banned"
    assert api.post(f"/admin/players/{pid}/unban", {"reason": "refund settled"}, player=admin).status == 200
    entries = api.get(f"/admin/audit?target={pid}", player=admin).json["entries"]
    assert [(e["action"], e["reason"]) for e in entries] == [
        ("admin_unban", "refund settled"),
        ("admin_ban", "chargeback fraud"),
    ]
    # A refused ban (no reason) wrote nothing, so it is not in the log.
    assert api.post(f"/admin/players/{pid}/ban", {}, player=admin).status == 400
    assert len(api.get(f"/admin/audit?target={pid}", player=admin).json["entries"]) == 2


def test_an_admin_deletion_interrupted_after_the_erasure_removes_the_sign_in_on_retry(
    api, admin, new_player, monkeypatch
):
    """The first attempt erased the profile and failed before removing the sign-in account:
    the retry no longer has a profile to name it, so the deletion mark does."""
    from chalicelib.storage.accounts import AccountsGateway

    player = new_player()

    def cognito_down(self: object, username: str) -> None:
        raise RuntimeError("the user pool went away")

    monkeypatch.setattr(AccountsGateway, "delete_user", cognito_down)
    assert api.delete(f"/admin/players/{player.player_id}", {"reason": "GDPR"}, player=admin).status == 500
    monkeypatch.undo()
    gateway = AccountsGateway()

    def sign_in_exists() -> bool:
        try:
            gateway.client.admin_get_user(UserPoolId=gateway.pool_id, Username=player.username)
            return True
        except gateway.client.exceptions.UserNotFoundException:
            return False

    # The sign-in account still exists (its tokens are refused everywhere already).
    assert sign_in_exists()
    again = api.delete(f"/admin/players/{player.player_id}", {"reason": "GDPR"}, player=admin)
    assert again.status == 200 and again.json["deleted"] is True
    assert not sign_in_exists()


def test_a_ban_removes_the_cheaters_entries_and_the_ranks_close_up(api, admin, new_player):
    board = "daily_score"
    honest, cheater, kept = new_player(), new_player(), new_player()
    for p, score in ((honest, 9_100_000), (cheater, 9_900_000), (kept, 9_050_000)):
        assert api.post(f"/leaderboards/{board}/scores", {"score": score}, player=p).status == 200
    # The cheater also feeds the stat-fed boards (global follows high_score, weekly_kills kills).
    assert api.post("/players/me/stats", {"updates": {"high_score": 99_000, "kills": 5}}, player=cheater).status == 200
    ids = ",".join(p.player_id for p in (honest, cheater, kept))

    def ranks(board_id: str) -> dict[str, int]:
        page = api.get(f"/leaderboards/{board_id}/players?ids={ids}", player=admin).json["entries"]
        return {e["player_id"]: e["rank"] for e in page}

    before = ranks(board)
    assert before[honest.player_id] == before[cheater.player_id] + 1
    assert cheater.player_id in ranks("global") and cheater.player_id in ranks("weekly_kills")

    resp = api.post(f"/admin/players/{cheater.player_id}/ban", {"reason": "aimbot"}, player=admin)
    assert resp.status == 200, resp.body
    assert resp.json["status"] == "banned" and resp.json["leaderboard_entries_removed"] == 3
    after = ranks(board)
    assert cheater.player_id not in after
    assert after[honest.player_id] == before[honest.player_id] - 1
    assert cheater.player_id not in ranks("global") and cheater.player_id not in ranks("weekly_kills")
    # A retried ban changes nothing more.
    again = api.post(f"/admin/players/{cheater.player_id}/ban", {"reason": "aimbot"}, player=admin)
    assert again.status == 200 and again.json["leaderboard_entries_removed"] == 0

    # A ban that keeps the entries (say, a chargeback, not cheating).
    resp = api.post(
        f"/admin/players/{kept.player_id}/ban",
        {"reason": "chargeback", "remove_leaderboard_entries": False},
        player=admin,
    )
    assert resp.status == 200 and resp.json.get("leaderboard_entries_removed") is None
    assert kept.player_id in ranks(board)
    refused = api.post(
        f"/admin/players/{kept.player_id}/ban", {"reason": "x", "remove_leaderboard_entries": "yes"}, player=admin
    )
    assert refused.status == 400 and refused.json["details"]["field"] == "remove_leaderboard_entries", refused.body
    assert kept.player_id in ranks(board)  # nothing was done


def test_audit_entries_with_and_without_a_reason_match_the_document(api, admin, new_player):
    """The audit page answers a reason-less entry without `reason`: the document must allow
    it (it once listed `reason` as required, and schemathesis failed whenever such an entry
    was on the page)."""
    import jsonschema

    player = new_player()
    pid = player.player_id
    assert api.post(f"/admin/players/{pid}/stats", {"updates": {"rating": 1234}}, player=admin).status == 200
    assert api.post(f"/admin/players/{pid}/ban", {"reason": "cheating"}, player=admin).status == 200
    entries = api.get(f"/admin/audit?target={pid}", player=admin).json["entries"]
    assert {"reason" in e for e in entries} == {True, False}
    doc = api.get("/openapi.json").json
    # The entry's schema, with the document's components beside it for its references.
    schema = {**doc["components"]["schemas"]["AuditEntry"], "components": doc["components"]}
    for entry in entries:
        jsonschema.validate(entry, schema)
