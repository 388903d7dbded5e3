"""The admin console in a real headless Chromium, against `chalice local` on the stand-in.

The browser is Debian's `chromium`, installed by tests/e2e/install-chromium.sh (the test fails,
never skips, when it cannot be installed) and driven by Playwright over CDP with
`executable_path`; Playwright never downloads a browser of its own. Each page gets a
screenshot under build/screenshots/ (git-ignored).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Backend

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
INSTALL = ROOT / "tests" / "e2e" / "install-chromium.sh"
SHOTS = ROOT / "build" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = ["dashboard", "players", "leaderboards", "matchmaking", "notifications", "audit", "config", "api"]
XSS = "<img src=x onerror=alert(1)>"
ADMIN = {"username": "admin", "password": "Admin-local-1"}
DAY = 86_400


# -- browser fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    result = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"install-chromium.sh failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return CHROMIUM


class Console:
    """One browser page on the console, recording console errors, page errors and dialogs."""

    def __init__(self, page: Any, backend: Backend) -> None:
        self.page = page
        self.backend = backend
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.failed: list[str] = []  # HTTP answers >= 400, for the messages of failed checks
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("dialog", self._dialog)
        page.on("response", self._response)
        # An upper bound for a loaded machine, never a pause: every wait ends on a condition.
        page.set_default_timeout(60_000)

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.request.method} {response.url}")

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"{msg.text} ({msg.location.get('url', '')})")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self) -> None:
        self.page.goto(self.backend.url + "/console")

    def sign_in(self, username: str = ADMIN["username"], password: str = ADMIN["password"]) -> None:
        self.open()
        self.page.fill("#signin-username", username)
        self.page.fill("#signin-password", password)
        self.page.click("#signin-form button[type=submit]")
        self.wait_loaded("dashboard")

    def wait_loaded(self, name: str) -> None:
        self.page.wait_for_selector(f"body[data-loaded='{name}']", state="attached", timeout=60_000)

    def go(self, name: str) -> None:
        self.page.click(f"#nav a[data-page='{name}']")
        self.wait_loaded(name)

    def status(self) -> str:
        return str(self.page.text_content("#status") or "")

    def wait_status(self, text: str) -> None:
        self.page.wait_for_function(
            "t => document.getElementById('status').textContent.includes(t)", arg=text, timeout=60_000
        )

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"console-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def console(browser: Any, backend: Backend) -> Iterator[Console]:
    page = browser.new_page()  # a new tab: its own, empty sessionStorage
    try:
        yield Console(page, backend)
    finally:
        page.close()


@pytest.fixture(scope="module")
def admin_token(backend: Backend) -> str:
    resp = backend.request("POST", "/auth/login", json=ADMIN)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id_token"])


def _guest(backend: Backend, display_name: str | None = None) -> dict[str, Any]:
    body = {"display_name": display_name} if display_name else {}
    resp = backend.request("POST", "/auth/guest", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


# -- sign-in and every page ---------------------------------------------------------------------


def test_sign_in_then_every_page_loads_without_a_console_error(console: Console, backend: Backend) -> None:
    console.open()
    assert console.page.is_visible("#page-signin")
    console.sign_in()
    assert console.page.text_content("#whoami") == "admin"
    for name in PAGES:
        console.go(name)
        assert console.page.is_visible(f"#page-{name}"), name
        assert not console.page.is_visible("#status.error"), (name, console.status())
        console.shot(name)
    # Every page rendered something from the API.
    console.go("config")
    assert '"leaderboards"' in str(console.page.text_content("#config-json"))
    console.go("api")
    assert "/admin/audit" in str(console.page.text_content("#api-doc"))
    console.go("matchmaking")
    assert console.page.locator("#mm-queues tbody tr").count() >= 1
    # The token is kept in sessionStorage, never in the URL or localStorage.
    stored = console.page.evaluate("() => sessionStorage.getItem('game-console.session')")
    assert stored and "id_token" in stored
    assert console.page.evaluate("() => localStorage.length") == 0
    assert "token" not in console.page.url and "eyJ" not in console.page.url
    assert console.errors == [], (console.errors, console.failed)
    # Signing out forgets the token.
    console.page.click("#signout")
    assert console.page.is_visible("#page-signin")
    assert console.page.evaluate("() => sessionStorage.getItem('game-console.session')") is None


def test_a_player_account_cannot_use_the_console(console: Console, backend: Backend) -> None:
    guest = _guest(backend)
    console.open()
    console.page.fill("#signin-username", guest["username"])
    console.page.fill("#signin-password", guest["password"])
    console.page.click("#signin-form button[type=submit]")
    console.wait_status("not in the admins group")
    assert console.page.is_visible("#page-signin") and not console.page.is_visible("#nav")
    assert console.page.evaluate("() => sessionStorage.getItem('game-console.session')") is None
    console.page.fill("#signin-username", "admin")
    console.page.fill("#signin-password", "wrong-password")
    console.page.click("#signin-form button[type=submit]")
    console.wait_status("(bad_credentials)")
    assert console.page.is_visible("#page-signin") and console.page.is_visible("#status.error")


def test_console_headers_forbid_framing_and_inline_script(backend: Backend, console: Console) -> None:
    resp = backend.request("GET", "/console")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    # The browser enforces the policy: an injected inline script does not run, and says so.
    console.open()
    console.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.append(s); }"
    )
    assert console.page.evaluate("() => window.injected === undefined")
    assert any("Content Security Policy" in e for e in console.errors), console.errors


# -- dashboard charts from seeded events --------------------------------------------------------


def test_dashboard_charts_plot_the_analytics_of_seeded_days(
    console: Console, backend: Backend, admin_token: str
) -> None:
    from chalicelib.game_config import get_game_config
    from chalicelib.services import events as event_service
    from chalicelib.storage.events import EventsRepository

    now = time.time()
    today = int(now // DAY)
    days = [today - back for back in (5, 4, 3, 2, 1, 0)]
    # Six players: player i plays on the last i+1 of those days, two sessions and one
    # `purchase` a day, so day k of the six has k+1 active players. Analytics counts an event,
    # at ingest, on the day the server received it: past days go through the ingest service
    # with that day's clock (as if received then), today's through POST /events.
    seeded = dict.fromkeys(days, 0)
    for i in range(6):
        player = _guest(backend)
        for d in days[5 - i :]:
            seeded[d] += 1
            at = min(d * DAY + 36_000, now)
            events = [
                {"event_id": uuid.uuid4().hex, "type": "session_start", "timestamp": at - s, "session_id": f"s{s}"}
                for s in range(2)
            ] + [{"event_id": uuid.uuid4().hex, "type": "purchase", "timestamp": at, "data": {}}]
            if d == today:
                resp = backend.request("POST", "/events", token=player["id_token"], json={"events": events})
                assert resp.status_code == 202 and resp.json()["accepted"] == 3, resp.text
            else:
                result = event_service.ingest(
                    player_id=player["player_id"],
                    events=events,
                    config=get_game_config().events,
                    repo=EventsRepository(),
                    clock=lambda at=at: at,
                )
                assert result["accepted"] == 3, result

    first = time.strftime("%Y-%m-%d", time.gmtime(days[0] * DAY))
    last = time.strftime("%Y-%m-%d", time.gmtime(now))
    summary = backend.request("GET", f"/admin/analytics/summary?from={first}&to={last}", token=admin_token).json()
    by_day = {d["day"]: d for d in summary["days"]}
    for d, count in seeded.items():
        day = by_day[time.strftime("%Y-%m-%d", time.gmtime(d * DAY))]
        assert day["active_players"] >= count and day["events_by_type"].get("purchase", 0) >= count

    console.sign_in()
    console.page.fill("#range-from", first)
    console.page.fill("#range-to", last)
    console.page.click("#range-form button[type=submit]")
    console.wait_loaded("dashboard")
    assert not console.page.is_visible("#status.error"), console.status()

    plotted = console.page.evaluate(
        """() => Object.fromEntries(Object.entries(window.GameConsole.state.charts).map(
               ([name, u]) => [name, {x: Array.from(u.data[0]), series: u.series.slice(1).map(
                   (s, i) => ({label: s.label, values: Array.from(u.data[i + 1])}))}]))"""
    )
    expected_x = [_epoch(d["day"]) for d in summary["days"]]
    api_days = summary["days"]

    def series(chart: str, label: str) -> list[Any]:
        assert plotted[chart]["x"] == expected_x, chart
        return next(s["values"] for s in plotted[chart]["series"] if s["label"] == label)

    assert series("players", "Active players") == [d["active_players"] for d in api_days]
    assert series("players", "New players") == [d["new_players"] for d in api_days]
    assert series("sessions", "Sessions") == [d["sessions"] for d in api_days]
    pct = [None if d["d1_retention"] is None else round(d["d1_retention"] * 1000) / 10 for d in api_days]
    assert series("retention", "D1 retention %") == pct
    assert series("events", "purchase") == [d["events_by_type"].get("purchase", 0) for d in api_days]
    assert series("events", "session_start") == [d["events_by_type"].get("session_start", 0) for d in api_days]
    # The figures above the charts are the API's totals, and the canvases were drawn on.
    assert console.page.text_content("#total-sessions") == str(summary["totals"].get("sessions", 0))
    assert console.page.text_content("#total-new") == str(summary["totals"].get("new_players", 0))
    for chart in ("players", "sessions", "retention", "events"):
        painted = console.page.evaluate(
            """id => { const c = document.querySelector('#chart-' + id + ' canvas');
                       const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""",
            chart,
        )
        assert painted > 500, chart
    mm = backend.request("GET", "/admin/matchmaking", token=admin_token).json()
    assert console.page.text_content("#live-matches") == str(mm["matches_last_hour"]) + (
        "+" if mm["matches_last_hour_capped"] else ""
    )
    shot = console.shot("dashboard-seeded")
    assert shot.stat().st_size > 10_000
    assert console.errors == [], console.errors


def _epoch_iso(stamp: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _epoch(day: str) -> int:
    import calendar

    return calendar.timegm(time.strptime(day, "%Y-%m-%d"))


# -- players: find by name, XSS shown as text, actions ------------------------------------------


def _xss_player(backend: Backend) -> dict[str, Any]:
    """A player whose stored display name is markup. The API refuses such names now, so it is
    stored the way older data or another writer might hold it; the console must cope."""
    guest = _guest(backend)
    from chalicelib.storage.players import PlayersRepository

    PlayersRepository().update_profile(guest["player_id"], display_name=XSS)
    return guest


def test_find_a_player_by_name_and_markup_is_shown_as_text(console: Console, backend: Backend) -> None:
    player = _xss_player(backend)
    save = {"data": {"note": XSS}, "expected_version": 0}
    assert backend.request("PUT", "/saves/main", token=player["id_token"], json=save).status_code == 200
    console.sign_in()
    console.go("players")
    console.page.fill("#player-q", XSS.upper())  # names are matched in any case
    console.page.click("#player-search button[type=submit]")
    console.page.wait_for_selector("#player-detail:not([hidden])")
    row = console.page.locator(f"#player-results tr[data-player-id='{player['player_id']}']")
    # The API shows a stored name that breaks the display-name rule as the default name;
    # the console shows what the API answers, as text.
    shown = backend.request("GET", "/players/me", token=player["id_token"]).json()["display_name"]
    assert row.locator("td.player-name").text_content() == shown
    assert console.page.text_content("#pd-name") == shown
    # Shown as characters: no <img> element anywhere in the page, no alert.
    assert console.page.locator("main img").count() == 0
    console.page.click("#pd-saves button")
    console.page.wait_for_selector("#pd-save-content:not([hidden])")
    assert XSS in str(console.page.text_content("#pd-save-content"))
    assert console.page.locator("main img").count() == 0
    console.shot("players-xss")
    assert console.dialogs == [] and console.errors == [], (console.dialogs, console.errors)


def test_player_page_shows_the_player_and_its_actions_are_audited(
    console: Console, backend: Backend, admin_token: str
) -> None:
    name = f"Support {uuid.uuid4().hex[:6]}"
    player = _guest(backend, name)
    pid = player["player_id"]
    console.sign_in()
    console.go("players")
    console.page.fill("#player-q", name)
    console.page.click("#player-search button[type=submit]")
    console.page.wait_for_selector("#player-detail:not([hidden])")
    assert console.page.text_content("#pd-name") == name
    # Set a server-only stat, grant a manual achievement, send a message.
    console.page.select_option("#pd-stat-name", "rating")
    console.page.fill("#pd-stat-value", "1777")
    console.page.click("#pd-stat-form button[type=submit]")
    console.wait_status("Stat updated.")
    console.page.select_option("#pd-grant-id", "founder")
    console.page.click("#pd-grant-form button[type=submit]")
    console.wait_status("Achievement granted.")
    console.page.fill("#pd-notify-title", "About your ticket")
    console.page.click("#pd-notify-form button[type=submit]")
    console.wait_status("Notification sent.")
    console.page.wait_for_function(
        "() => document.querySelector('#pd-inbox').textContent.includes('About your ticket')"
    )
    stats = backend.request("GET", "/players/me/stats", token=player["id_token"]).json()["stats"]
    assert stats["rating"] == 1777
    achievements = backend.request("GET", "/achievements", token=player["id_token"]).json()["achievements"]
    assert next(a for a in achievements if a["id"] == "founder")["unlocked"] is True
    audit = backend.request("GET", f"/admin/audit?target={pid}", token=admin_token).json()["entries"]
    assert [e["action"] for e in audit] == ["admin_send", "admin_grant", "admin_post_stats"]
    assert all(e["actor"] == "admin" for e in audit)
    # The page reloads its audit table after each action, on its own: wait for the third row.
    console.page.wait_for_function("() => document.querySelectorAll('#pd-audit tbody tr').length === 3")
    assert console.page.locator("#pd-audit tbody tr").count() == 3
    # Delete the account: gone for the API, and in the audit log with its reason.
    console.page.fill("#pd-delete-reason", "asked by the player")
    console.page.check("#pd-delete-confirm")
    console.page.click("#pd-delete-form button[type=submit]")
    console.wait_status("Account deleted.")
    assert backend.request("GET", f"/admin/players/{pid}", token=admin_token).status_code == 404
    console.go("audit")
    console.page.fill("#audit-target", pid)
    console.page.click("#audit-form button[type=submit]")
    console.page.wait_for_function(
        "() => document.querySelector('#audit-entries').textContent.includes('asked by the player')"
    )
    console.shot("audit")
    assert console.errors == [], console.errors


def _ban_routes(backend: Backend) -> bool:
    paths = backend.request("GET", "/openapi.json").json()["paths"]
    return "/admin/players/{player_id}/ban" in paths and "/admin/players/{player_id}/unban" in paths


def test_ban_from_the_console_is_refused_by_the_api_until_unbanned(
    console: Console, backend: Backend, admin_token: str
) -> None:
    if not _ban_routes(backend):
        pytest.skip("this build serves no /admin/players/{player_id}/ban and /unban routes (see the OpenAPI document)")
    name = f"Cheater {uuid.uuid4().hex[:6]}"
    player = _guest(backend, name)
    console.sign_in()
    console.go("players")
    console.page.fill("#player-q", player["player_id"])
    console.page.click("#player-search button[type=submit]")
    console.page.wait_for_selector("#player-detail:not([hidden])")
    console.page.fill("#pd-ban-reason", "speed hack")
    console.page.click("#pd-ban")
    console.wait_status("Player banned.")
    refused = backend.request("GET", "/players/me", token=player["id_token"])
    assert refused.status_code == 403 and refused.json()["code"] == "account_banned", refused.text
    login = backend.request(
        "POST", "/auth/login", json={"username": player["username"], "password": player["password"]}
    )
    assert login.status_code == 403 and login.json()["code"] == "account_banned", login.text
    console.page.wait_for_function("() => document.getElementById('pd-status').textContent === 'banned'")
    console.shot("players-banned")
    console.page.fill("#pd-ban-reason", "appeal accepted")
    console.page.click("#pd-unban")
    console.wait_status("Player unbanned.")
    assert backend.request("GET", "/players/me", token=player["id_token"]).status_code == 200
    audit = backend.request("GET", f"/admin/audit?target={player['player_id']}", token=admin_token).json()["entries"]
    assert [(e["action"], e["reason"], e["actor"]) for e in audit[:2]] == [
        ("admin_unban", "appeal accepted", "admin"),
        ("admin_ban", "speed hack", "admin"),
    ]
    assert console.errors == [], console.errors


# -- leaderboards: remove an entry, ranks close up ----------------------------------------------


def test_remove_a_leaderboard_entry_and_the_ranks_close_up(
    console: Console, backend: Backend, admin_token: str
) -> None:
    board = "daily_score"  # takes scores directly (global follows a stat)
    top = 99_999_000  # above what other tests submit, so these four lead the board
    players = [_guest(backend, f"Racer {uuid.uuid4().hex[:6]}") for _ in range(12)]
    for i, p in enumerate(players):
        score = top + 10 * (12 - i) + int(time.time()) % 7
        resp = backend.request("POST", f"/leaderboards/{board}/scores", token=p["id_token"], json={"score": score})
        assert resp.status_code == 200, resp.text
    ids = ",".join(p["player_id"] for p in players)

    def ranks() -> dict[str, int]:
        got = backend.request("GET", f"/leaderboards/{board}/players?ids={ids}", token=admin_token).json()
        return {e["player_id"]: e["rank"] for e in got["entries"]}

    before = ranks()
    console.sign_in()
    console.go("leaderboards")
    console.page.select_option("#board-id", board)
    # Page through: 10 a page, next, then back.
    console.page.select_option("#board-limit", "10")
    console.page.click("#board-form button[type=submit]")
    console.page.wait_for_selector("#board-entries[data-view^='daily_score|'][data-view$='|10|1']", state="attached")
    assert console.page.locator("#board-entries td.rank").count() == 10
    console.page.click("#board-next")
    console.page.wait_for_selector("#board-entries[data-view^='daily_score|'][data-view$='|10|11']", state="attached")
    assert console.page.locator("#board-entries td.rank").first.text_content() == "11"
    console.page.click("#board-prev")
    console.page.wait_for_selector("#board-entries[data-view^='daily_score|'][data-view$='|10|1']", state="attached")
    console.page.select_option("#board-limit", "100")
    console.page.click("#board-form button[type=submit]")
    console.page.wait_for_selector("#board-entries[data-view^='daily_score|'][data-view$='|100|1']", state="attached")
    cheater = players[1]["player_id"]
    row = console.page.locator(f"#board-entries tr[data-player-id='{cheater}']")
    row.wait_for()
    ui_before = {
        p["player_id"]: int(
            str(console.page.locator(f"#board-entries tr[data-player-id='{p['player_id']}'] td.rank").text_content())
        )
        for p in players
    }
    assert ui_before == before
    console.page.fill("#board-remove-reason", "aimbot")
    row.locator("button").click()
    console.wait_status("removed")
    console.page.wait_for_selector(f"#board-entries tr[data-player-id='{cheater}']", state="detached")
    after = ranks()
    assert cheater not in after
    for p in players:
        if p["player_id"] == cheater:
            continue
        expected = before[p["player_id"]] - (1 if before[p["player_id"]] > before[cheater] else 0)
        assert after[p["player_id"]] == expected
        shown = console.page.locator(f"#board-entries tr[data-player-id='{p['player_id']}'] td.rank").text_content()
        assert int(str(shown)) == expected
    # Ranks on the page are 1..n with no gap.
    shown_ranks = [int(str(t)) for t in console.page.locator("#board-entries td.rank").all_text_contents()]
    assert shown_ranks == list(range(1, len(shown_ranks) + 1))
    # Look up a player's rank from the console.
    console.page.fill("#rank-ids", players[3]["player_id"])
    console.page.click("#rank-form button[type=submit]")
    console.page.wait_for_selector("#rank-results tbody tr td.num")
    assert console.page.locator("#rank-results tbody td.num").first.text_content() == str(
        after[players[3]["player_id"]]
    )
    audit = backend.request("GET", f"/admin/audit?target={cheater}", token=admin_token).json()["entries"]
    assert audit[0]["action"] == "admin_remove_entry" and audit[0]["reason"] == "aimbot"
    console.shot("leaderboards-removed")
    assert console.errors == [], console.errors


# -- notifications: a broadcast read by a player -------------------------------------------------


def test_send_a_broadcast_and_a_player_reads_it(console: Console, backend: Backend, admin_token: str) -> None:
    title = f"Double XP weekend {uuid.uuid4().hex[:6]}"
    console.sign_in()
    console.go("notifications")
    console.page.check("#notify-broadcast")
    console.page.fill("#notify-title", title)
    console.page.fill("#notify-body", "All weekend long <b>not bold</b>")
    console.page.fill("#notify-expiry", "3")
    console.page.fill("#notify-reason", "weekend event ✓")
    console.page.click("#notify-form button[type=submit]")
    console.wait_status("Broadcast sent.")
    player = _guest(backend)
    inbox = backend.request("GET", "/notifications", token=player["id_token"]).json()["notifications"]
    mine = [n for n in inbox if n["title"] == title]
    assert len(mine) == 1 and mine[0]["broadcast"] is True and mine[0]["read"] is False
    assert mine[0]["body"] == "All weekend long <b>not bold</b>"
    # The expiry chosen in the form: three days and up to the next UTC midnight.
    lives = _epoch_iso(mine[0]["expires_at"]) - _epoch_iso(mine[0]["created_at"])
    assert 3 * DAY < lives <= 4 * DAY
    audit = backend.request("GET", "/admin/audit?target=broadcast&limit=1", token=admin_token).json()["entries"]
    assert title in audit[0]["details"] and audit[0]["reason"] == "weekend event ✓"
    console.shot("notifications-sent")
    assert console.errors == [], console.errors
