"""The players repository's records, read from stored items."""

from __future__ import annotations

from chalicelib.storage.players import AccountStatus, PlayerStats, Profile, _account_status, _profile, _stats


def test_a_profile_item_becomes_a_profile_and_missing_fields_take_their_defaults():
    item = {
        "PK": "P#p1",
        "SK": "PROFILE",
        "NPK": "N#ace",
        "NSK": "p1",
        "player_id": "p1",
        "username": "u1",
        "display_name": "Ace",
        "created_at": "t0",
        "last_seen_at": "t1",
        "is_guest": False,
        "email": "a@b.c",
    }
    assert _profile(item) == Profile(
        player_id="p1",
        username="u1",
        display_name="Ace",
        created_at="t0",
        last_seen_at="t1",
        is_guest=False,
        email="a@b.c",
    )
    assert _profile({"player_id": "p2"}) == Profile(
        player_id="p2", username="", display_name=None, created_at="", last_seen_at=None, is_guest=True, email=None
    )


def test_a_status_item_becomes_an_account_status():
    ban = {
        "PK": "ACCOUNT#p1",
        "SK": "STATUS",
        "player_id": "p1",
        "status": "banned",
        "reason": "cheating",
        "changed_by": "admin",
        "changed_at": "t0",
    }
    assert _account_status("p1", ban) == AccountStatus(
        player_id="p1", status="banned", reason="cheating", changed_at="t0", changed_by="admin"
    )
    mark = {"player_id": "p1", "status": "deleted", "changed_at": "t1", "username": "guest-1"}
    assert _account_status("p1", mark) == AccountStatus(
        player_id="p1", status="deleted", changed_at="t1", username="guest-1"
    )
    # An item without its own id or status (written before either was stored) reads as the key's player, active.
    assert _account_status("p2", {"reason": "x"}) == AccountStatus(player_id="p2", status="active", reason="x")


def test_a_stats_item_becomes_player_stats_keyed_by_stat_name():
    item = {
        "PK": "P#p1",
        "SK": "STATS",
        "player_id": "p1",
        "s_xp": 40,
        "s_best": 12.5,
        "updated_at": "t0",
        "write_id": "w1",
    }
    assert _stats("p1", item) == PlayerStats("p1", values={"xp": 40, "best": 12.5}, updated_at="t0", write_id="w1")
    # No item yet: nothing written, no stat stored.
    assert _stats("p2", {}) == PlayerStats("p2", values={}, updated_at=None, write_id=None)
