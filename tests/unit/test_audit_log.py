"""The audit log's paging over month partitions and its entry shape, on an in-memory store."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.errors import Invalid
from chalicelib.services import audit
from chalicelib.storage.audit import AuditEntry, AuditRepository, StoredAuditEntry, previous_month


class MemoryAudit(AuditRepository):
    """The repository's contract (month partitions, newest first, a target index) in memory."""

    def __init__(self) -> None:
        super().__init__(client=None, table="audit")  # type: ignore[arg-type]
        self.items: list[dict[str, Any]] = []
        self.seq = 0

    def append(self, entry: AuditEntry, now: float) -> StoredAuditEntry:
        at = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.seq += 1
        sk = f"{at}#{self.seq:08x}"
        record = StoredAuditEntry(id=f"{at[:7]}|{sk}", at=at, entry=entry)
        self.items.append({"month": at[:7], "sk": sk, "record": record})
        return record

    def month_page(self, month: str, before: str | None, limit: int) -> list[StoredAuditEntry]:
        rows = [i for i in self.items if i["month"] == month and (before is None or i["sk"] < before)]
        return [i["record"] for i in sorted(rows, key=lambda i: i["sk"], reverse=True)[:limit]]

    def target_page(self, target: str, before: str | None, limit: int) -> list[StoredAuditEntry]:
        rows = [i for i in self.items if i["record"].entry.target == target and (before is None or i["sk"] < before)]
        return [i["record"] for i in sorted(rows, key=lambda i: i["sk"], reverse=True)[:limit]]


def _entry(target: str) -> AuditEntry:
    return audit.entry_for(
        actor="admin",
        actor_id="a1",
        action="admin_post_stats",
        method="POST",
        path="/admin/x",
        params={"player_id": target},
        body={},
        header_reason=None,
        status=200,
    )


def test_previous_month_crosses_the_year():
    assert previous_month("2026-01") == "2025-12"
    assert previous_month("2026-12") == "2026-11"


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
def test_pages_cover_every_month_newest_first_without_loss_or_repeat(limit):
    repo = MemoryAudit()
    stamps = [dt.datetime(2025, m, 3, tzinfo=dt.UTC).timestamp() for m in (11, 12)]
    stamps += [dt.datetime(2026, 1, d, tzinfo=dt.UTC).timestamp() for d in (1, 2, 3)]
    stamps += [dt.datetime(2026, 3, 9, tzinfo=dt.UTC).timestamp()]  # February is empty
    for i, ts in enumerate(stamps):
        repo.append(_entry(f"p{i % 2}"), ts)
    now = dt.datetime(2026, 3, 10, tzinfo=dt.UTC).timestamp()
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        page = audit.list_entries(target=None, cursor=cursor, limit=limit, repo=repo, clock=lambda: now)
        assert len(page["entries"]) <= limit
        seen += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["record"].id for r in sorted(repo.items, key=lambda i: i["sk"], reverse=True)]
    only = audit.list_entries(target="p1", cursor=None, limit=50, repo=repo, clock=lambda: now)["entries"]
    assert [e["target"] for e in only] == ["p1"] * 3


def test_a_target_page_continues_from_its_cursor():
    repo = MemoryAudit()
    for day in range(1, 6):
        repo.append(_entry("p"), dt.datetime(2026, 2, day, tzinfo=dt.UTC).timestamp())
    first = audit.list_entries(target="p", cursor=None, limit=2, repo=repo)
    second = audit.list_entries(target="p", cursor=first["next_cursor"], limit=2, repo=repo)
    third = audit.list_entries(target="p", cursor=second["next_cursor"], limit=2, repo=repo)
    ids = [e["id"] for page in (first, second, third) for e in page["entries"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["x", "e30", "eyJtIjoiMjAyNi0wMSJ9", "!!", "a" * 300])
def test_foreign_cursors_are_refused(cursor):
    with pytest.raises(Invalid):
        audit.list_entries(target=None, cursor=cursor, limit=5, repo=MemoryAudit())


def test_target_and_reason_of_an_entry():
    assert audit.target_of({"achievement_id": "founder"}, {"player_id": "p9"}) == "p9"
    assert audit.target_of({}, {"broadcast": True}) == "broadcast"
    assert audit.target_of({"board_id": "global", "player_id": "p2"}, {}) == "p2"
    entry = audit.entry_for(
        actor="admin",
        actor_id="a",
        action="x",
        method="POST",
        path="/p",
        params={},
        body={},
        header_reason="caf%C3%A9%20fix",
        status=201,
    )
    assert entry.reason == "café fix"
    blank = audit.entry_for(
        actor="admin",
        actor_id="a",
        action="x",
        method="POST",
        path="/p",
        params={},
        body={"reason": "  "},
        header_reason="ignored",
        status=200,
    )
    assert blank.reason is None


def test_an_entry_is_answered_with_its_id_and_time_and_no_reason_key_without_a_reason():
    entry = audit.entry_for(
        actor="admin",
        actor_id="a1",
        action="admin_ban",
        method="POST",
        path="/admin/players/p1/ban",
        params={"player_id": "p1"},
        body={"reason": "cheating"},
        header_reason=None,
        status=200,
    )
    stored = StoredAuditEntry(
        id="2026-01|2026-01-02T03:04:05.000Z#0000abcd", at="2026-01-02T03:04:05.000Z", entry=entry
    )
    assert audit.entry_view(stored) == {
        "id": stored.id,
        "at": stored.at,
        "actor": "admin",
        "actor_id": "a1",
        "action": "admin_ban",
        "method": "POST",
        "path": "/admin/players/p1/ban",
        "params": {"player_id": "p1"},
        "target": "p1",
        "reason": "cheating",
        "details": '{"reason":"cheating"}',
        "status": 200,
    }
    # A reason-less entry is stored without one, and answered without the key, as it always was.
    silent = StoredAuditEntry(id=stored.id, at=stored.at, entry=replace(entry, reason=None))
    assert "reason" not in audit.entry_view(silent)
    assert AuditRepository.position(stored) == "2026-01-02T03:04:05.000Z#0000abcd"


def test_a_stored_item_reads_back_as_the_entry_that_was_appended():
    from chalicelib.storage.audit import _entry as read_item
    from chalicelib.storage.audit import _fields
    from chalicelib.storage.items import to_item

    entry = _entry("p1")
    stored = StoredAuditEntry(
        id="2026-01|2026-01-02T03:04:05.000Z#0000abcd", at="2026-01-02T03:04:05.000Z", entry=entry
    )
    item = {"PK": "AUDIT#2026-01", "SK": "2026-01-02T03:04:05.000Z#0000abcd", "TPK": "T#p1", **_fields(stored)}
    assert read_item(to_item(item)) == stored
