"""Player and account rules on the in-memory repositories: profiles on first sight,
guest rate windows, bans, deleted accounts, sign-in and the guest upgrade."""

from __future__ import annotations

import pytest

from chalicelib.errors import AccountBanned, AccountDeleted, Conflict, Forbidden, NotFound, RateLimited, Unauthorized
from chalicelib.services import account_status, auth, hooks, players
from tests.fakes import FakeAccountsGateway, FakePlayersRepository

NOW = 1_900_000_000.0


@pytest.fixture
def repo() -> FakePlayersRepository:
    return FakePlayersRepository()


@pytest.fixture
def accounts() -> FakeAccountsGateway:
    return FakeAccountsGateway()


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The players announced as new (no listeners here)."""
    seen: list[str] = []
    monkeypatch.setattr(hooks, "player_created", seen.append)
    return seen


def guest(repo, accounts, name: str | None = None) -> dict:
    return auth.create_guest(
        source="10.0.0.1",
        display_name=name,
        repo=repo,
        accounts=accounts,
        limit=100,
        window_seconds=60,
        clock=lambda: NOW,
    )


def test_guest_creation_is_rate_limited_per_address(repo):
    for _ in range(3):
        auth.check_guest_rate(source="10.9.9.9", repo=repo, limit=3, window_seconds=60, clock=lambda: NOW)
    with pytest.raises(RateLimited) as caught:
        auth.check_guest_rate(source="10.9.9.9", repo=repo, limit=3, window_seconds=60, clock=lambda: NOW)
    assert caught.value.retry_after == 60 - int(NOW) % 60
    # Another address, or the next window, is not affected.
    auth.check_guest_rate(source="10.9.9.8", repo=repo, limit=3, window_seconds=60, clock=lambda: NOW)
    auth.check_guest_rate(source="10.9.9.9", repo=repo, limit=3, window_seconds=60, clock=lambda: NOW + 60)


def test_a_guest_gets_a_profile_once_and_is_announced_once(repo, accounts, created):
    made = guest(repo, accounts, "Ace Pilot")
    assert made["username"].startswith(auth.GUEST_PREFIX) and made["password"]
    assert made["player_id"] and made["id_token"] and made["refresh_token"]
    profile = repo.get_profile(made["player_id"])
    assert profile is not None and (profile.display_name, profile.is_guest) == ("Ace Pilot", True)
    assert created == [made["player_id"]]
    again = players.ensure_profile(
        player_id=made["player_id"], username=made["username"], repo=repo, is_guest=True, display_name="Other"
    )
    assert again.display_name == "Ace Pilot" and created == [made["player_id"]]


def test_no_profile_can_be_created_for_a_deleted_account(repo, created):
    account_status.mark_deleted(player_id="gone-1", repo=repo)
    with pytest.raises(AccountDeleted):
        players.ensure_profile(player_id="gone-1", username="u", repo=repo, is_guest=True)
    assert repo.get_profile("gone-1") is None and created == []


def test_a_profile_on_first_sight_then_renamed(repo, created):
    view = players.get_profile(player_id="p1", username="admin", repo=repo, clock=lambda: NOW)
    assert view["display_name"] == players.default_display_name("p1") and view["is_guest"] is False
    renamed = players.rename(player_id="p1", username="admin", display_name="Ёжик_42", repo=repo)
    assert renamed["display_name"] == "Ёжик_42"
    # A name stored before the display-name rule is shown as the default.
    repo.update_profile("p1", display_name="<b>\u202eevil</b>")
    assert players.get_profile(player_id="p1", username="admin", repo=repo)["display_name"] == (
        players.default_display_name("p1")
    )


def test_bans_need_a_known_player_and_an_account_not_deleted(repo, created):
    with pytest.raises(NotFound):
        account_status.set_ban(player_id="nobody", banned=True, reason="x", admin_id="a", repo=repo)
    players.ensure_profile(player_id="p1", username="u", repo=repo, is_guest=True)
    view = account_status.set_ban(player_id="p1", banned=True, reason="cheating", admin_id="a", repo=repo)
    assert (view["status"], view["reason"], view["changed_by"]) == ("banned", "cheating", "a")
    with pytest.raises(AccountBanned):
        account_status.check_active(player_id="p1", repo=repo)
    assert account_status.set_ban(player_id="p1", banned=False, reason="ok", admin_id="a", repo=repo)["status"] == (
        "active"
    )
    assert account_status.check_active(player_id="p1", repo=repo) == "active"
    account_status.mark_deleted(player_id="p1", repo=repo)
    with pytest.raises(Conflict) as deleted:
        account_status.set_ban(player_id="p1", banned=True, reason="x", admin_id="a", repo=repo)
    assert deleted.value.code == "account_deleted" and deleted.value.details["status"] == "deleted"
    with pytest.raises(AccountDeleted):
        account_status.check_active(player_id="p1", repo=repo)
    assert account_status.check_active(player_id="p1", repo=repo, allow_deleted=True) == "deleted"


def test_login_refresh_and_upgrade_keep_the_same_player(repo, accounts, created):
    made = guest(repo, accounts)
    pid, username = made["player_id"], made["username"]
    login = auth.login(username=username, password=made["password"], repo=repo, accounts=accounts)
    assert login["player_id"] == pid
    assert auth.refresh(refresh_token=login["refresh_token"], repo=repo, accounts=accounts)["player_id"] == pid
    up = auth.upgrade(
        player_id=pid,
        username=username,
        email=" Me@Example.com ",
        password="Strong-pass-1",
        repo=repo,
        accounts=accounts,
    )
    assert up["player_id"] == pid
    profile = repo.get_profile(pid)
    assert profile is not None and (profile.is_guest, profile.email) == (False, "me@example.com")
    by_email = auth.login(username="me@example.com", password="Strong-pass-1", repo=repo, accounts=accounts)
    assert by_email["player_id"] == pid
    # The old device password no longer works; upgrading twice is refused; an email is one player's.
    with pytest.raises(Unauthorized):
        auth.login(username=username, password=made["password"], repo=repo, accounts=accounts)
    with pytest.raises(Forbidden):
        auth.upgrade(
            player_id=pid,
            username=username,
            email="x@example.com",
            password="Strong-pass-1",
            repo=repo,
            accounts=accounts,
        )
    other = guest(repo, accounts)
    with pytest.raises(Conflict) as taken:
        auth.upgrade(
            player_id=other["player_id"],
            username=other["username"],
            email="me@example.com",
            password="Strong-pass-1",
            repo=repo,
            accounts=accounts,
        )
    assert taken.value.code == "email_taken"
    assert repo.get_profile(other["player_id"]).is_guest is True


def test_a_banned_or_deleted_account_cannot_sign_in_or_refresh(repo, accounts, created):
    made = guest(repo, accounts)
    pid = made["player_id"]
    account_status.set_ban(player_id=pid, banned=True, reason="x", admin_id="a", repo=repo)
    with pytest.raises(AccountBanned):
        auth.login(username=made["username"], password=made["password"], repo=repo, accounts=accounts)
    with pytest.raises(AccountBanned):
        auth.refresh(refresh_token=made["refresh_token"], repo=repo, accounts=accounts)
    account_status.mark_deleted(player_id=pid, repo=repo)
    with pytest.raises(AccountDeleted):
        auth.refresh(refresh_token=made["refresh_token"], repo=repo, accounts=accounts)
