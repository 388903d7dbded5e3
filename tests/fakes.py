"""In-memory repositories for the services' unit tests.

Each fake keeps the interface and the outcomes of its DynamoDB (or Cognito, S3)
counterpart: the same records, the same conditional-write failures, the same paging.
tests/contract runs one set of cases against each fake and the real repository on the
stand-in, so a fake that drifts fails there.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from chalicelib.errors import AccountDeleted, ConditionFailed, Conflict, Unauthorized
from chalicelib.storage.accounts import Tokens
from chalicelib.storage.achievements import (
    COUNTED,
    PLAYERS_COUNTER,
    RECORD_PREFIX,
    AchievementRecord,
    unlocks_counter,
)
from chalicelib.storage.achievements import player_pk as achievements_pk
from chalicelib.storage.notifications import BroadcastMarks, Notification
from chalicelib.storage.players import (
    ACTIVE,
    BANNED,
    DELETED,
    AccountDeletedMark,
    AccountStatus,
    PlayerStats,
    Profile,
    StatsRefused,
    StatWrite,
    fold_name,
)
from chalicelib.storage.saves import (
    ObjectInfo,
    PendingUpload,
    SaveSlot,
    SlotCapReached,
    SlotChanged,
    SlotContent,
    SlotState,
    object_prefix,
)


class FakeSavesRepository:
    """Slots, slot counts, pending uploads and objects, in dictionaries.

    `upload_url` hands out a URL whose PUT a test plays with `put_object`.
    """

    def __init__(self) -> None:
        # (player, slot) -> the stored item: a live SaveSlot or a deleted marker (SlotState)
        self.slots: dict[tuple[str, str], SaveSlot | SlotState] = {}
        self.counts: dict[str, int] = {}
        self.uploads: dict[tuple[str, str], PendingUpload] = {}
        self.objects: dict[str, bytes] = {}
        self.object_checksums: dict[str, str | None] = {}
        self.presigned: dict[str, dict[str, object]] = {}

    # slots ------------------------------------------------------------------------------

    def get_state(self, player_id: str, slot: str) -> SlotState:
        return _state(self.slots.get((player_id, slot)))

    def get_slot(self, player_id: str, slot: str) -> SaveSlot | None:
        stored = self.slots.get((player_id, slot))
        return stored if isinstance(stored, SaveSlot) else None

    def list_slots(self, player_id: str, *, after: str | None, limit: int) -> tuple[list[SaveSlot], str | None]:
        # As a Query with Limit: markers count against the limit, then are dropped.
        names = sorted(s for p, s in self.slots if p == player_id and (after is None or s > after))
        page, more = names[:limit], len(names) > limit
        live = [s for s in (self.slots[(player_id, n)] for n in page) if isinstance(s, SaveSlot)]
        return [replace(s, data=None, s3_key=None) for s in live], (page[-1] if more else None)

    def create_slot(
        self, player_id: str, slot: str, content: SlotContent, *, after_version: int, max_slots: int
    ) -> int:
        stored = self.slots.get((player_id, slot))
        if after_version == 0:
            fits = stored is None
        else:
            fits = isinstance(stored, SlotState) and stored.deleted and stored.version == after_version
        if not fits:
            raise SlotChanged(_state(stored) if stored is not None else None)
        if self.counts.get(player_id, 0) >= max_slots:
            raise SlotCapReached(max_slots)
        self.counts[player_id] = self.counts.get(player_id, 0) + 1
        self.slots[(player_id, slot)] = SaveSlot(slot=slot, version=after_version + 1, **asdict(content))
        return after_version + 1

    def replace_slot(self, player_id: str, slot: str, content: SlotContent, *, expected_version: int) -> SlotState:
        stored = self.slots.get((player_id, slot))
        if not isinstance(stored, SaveSlot) or stored.version != expected_version:
            raise SlotChanged(_state(stored) if stored is not None else None)
        self.slots[(player_id, slot)] = SaveSlot(slot=slot, version=expected_version + 1, **asdict(content))
        return _state(stored)

    def delete_slot(
        self, player_id: str, slot: str, *, expected_version: int, now: str, marker_expires_at: int
    ) -> None:
        stored = self.slots.get((player_id, slot))
        if not isinstance(stored, SaveSlot) or stored.version != expected_version:
            raise SlotChanged(_state(stored) if stored is not None else None)
        self.slots[(player_id, slot)] = SlotState(version=expected_version + 1, deleted=True, updated_at=now)
        self.counts[player_id] = self.counts.get(player_id, 0) - 1

    # pending uploads --------------------------------------------------------------------

    def put_upload(self, player_id: str, upload_id: str, upload: PendingUpload) -> None:
        self.uploads[(player_id, upload_id)] = upload

    def get_upload(self, player_id: str, upload_id: str) -> PendingUpload | None:
        return self.uploads.get((player_id, upload_id))

    def delete_upload(self, player_id: str, upload_id: str) -> None:
        self.uploads.pop((player_id, upload_id), None)

    # objects ----------------------------------------------------------------------------

    def upload_url(self, key: str, *, size: int, sha256_b64: str, expires_in: int) -> str:
        self.presigned[key] = {"size": size, "sha256_b64": sha256_b64, "expires_in": expires_in}
        return f"https://saves.invalid/{key}?put"

    def download_url(self, key: str, *, expires_in: int) -> str:
        return f"https://saves.invalid/{key}?get&expires_in={expires_in}"

    def put_object(self, key: str, body: bytes, *, with_checksum: bool = True) -> None:
        """What a client's PUT to an upload URL leaves in the bucket (S3 keeps the
        checksum the request carried; without one, the commit reads the object back)."""
        self.objects[key] = body
        self.object_checksums[key] = base64.b64encode(hashlib.sha256(body).digest()).decode() if with_checksum else None

    def head_object(self, key: str) -> ObjectInfo | None:
        if key not in self.objects:
            return None
        return ObjectInfo(size=len(self.objects[key]), sha256_b64=self.object_checksums.get(key))

    def object_sha256(self, key: str, *, max_bytes: int) -> str | None:
        body = self.objects[key]
        return None if len(body) > max_bytes else hashlib.sha256(body).hexdigest()

    def delete_object(self, key: str) -> None:
        self.objects.pop(key, None)
        self.object_checksums.pop(key, None)

    # erasure ----------------------------------------------------------------------------

    def erase_player(self, player_id: str) -> int:
        objects = [k for k in self.objects if k.startswith(object_prefix(player_id))]
        for key in objects:
            self.delete_object(key)
        items = [k for k in self.slots if k[0] == player_id]
        uploads = [k for k in self.uploads if k[0] == player_id]
        for slot_key in items:
            del self.slots[slot_key]
        for upload_key in uploads:
            del self.uploads[upload_key]
        counter = 1 if self.counts.pop(player_id, None) is not None else 0
        return len(objects) + len(items) + len(uploads) + counter


def _state(stored: SaveSlot | SlotState | None) -> SlotState:
    if stored is None:
        return SlotState()
    if isinstance(stored, SlotState):
        return stored
    return SlotState(version=stored.version, updated_at=stored.updated_at, s3_key=stored.s3_key)


class FakeAccountsGateway:
    """Cognito's user pool as the gateway sees it: users, passwords, tokens."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, str]] = {}  # username -> sub, password, email
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> username

    def create_user(self, username: str, password: str) -> str:
        if username in self.users:
            raise Conflict("that account already exists", code="account_exists")
        sub = str(uuid.uuid4())
        self.users[username] = {"sub": sub, "password": password}
        return sub

    def password_auth(self, username: str, password: str) -> Tokens:
        user = self.users.get(username)
        if user is None or user["password"] != password:
            raise Unauthorized("wrong username, password or refresh token", code="bad_credentials")
        refresh = uuid.uuid4().hex
        self.refresh_tokens[refresh] = username
        return self._tokens(username, refresh)

    def refresh(self, refresh_token: str) -> Tokens:
        username = self.refresh_tokens.get(refresh_token)
        if username is None or username not in self.users:
            raise Unauthorized("wrong username, password or refresh token", code="bad_credentials")
        return self._tokens(username, refresh_token)

    def set_email_and_password(self, username: str, email: str, password: str) -> None:
        if username not in self.users:
            raise Unauthorized("wrong username, password or refresh token", code="bad_credentials")
        self.users[username].update(password=password, email=email)

    def delete_user(self, username: str) -> None:
        self.users.pop(username, None)
        self.refresh_tokens = {t: u for t, u in self.refresh_tokens.items() if u != username}

    def _tokens(self, username: str, refresh: str) -> Tokens:
        sub = self.users[username]["sub"]
        return Tokens(
            player_id=sub,
            username=username,
            id_token=f"id.{sub}.{uuid.uuid4().hex}",
            access_token=f"access.{sub}.{uuid.uuid4().hex}",
            refresh_token=refresh,
            expires_in=3600,
        )


class FakeNotificationsRepository:
    """Inboxes, unread counters by expiry day, broadcasts and each player's broadcast marks."""

    def __init__(self) -> None:
        self.inboxes: dict[str, dict[str, Notification]] = {}
        self.broadcasts: dict[str, Notification] = {}
        self.dedupe: set[tuple[str | None, str]] = set()
        self.counters: dict[str, dict[int, int]] = {}
        self.marks: dict[str, BroadcastMarks] = {}

    def _add(self, player_id: str, deltas: dict[int, int]) -> None:
        counters = self.counters.setdefault(player_id, {})
        for day, delta in deltas.items():
            counters[day] = counters.get(day, 0) + delta

    # writes -----------------------------------------------------------------------------

    def put(self, player_id: str | None, note: Notification, *, day: int, dedupe_key: str | None) -> bool:
        if dedupe_key and (player_id, dedupe_key) in self.dedupe:
            return False
        stored = self.inboxes.setdefault(player_id, {}) if player_id else self.broadcasts
        if note.id in stored:
            raise AssertionError(f"notification id {note.id} stored twice")
        if dedupe_key:
            self.dedupe.add((player_id, dedupe_key))
        stored[note.id] = note
        if player_id:
            self._add(player_id, {day: 1})
        return True

    def mark_read(
        self, player_id: str, items: list[Notification], now: int, day_of: Callable[[Notification], int]
    ) -> int:
        inbox = self.inboxes.get(player_id, {})
        marked = 0
        for item in items:
            if item.read or item.expires_at <= now:
                continue
            stored = inbox.get(item.id)
            # The condition: still unread and live (deleted or read meanwhile: skipped).
            if stored is None or stored.read or stored.expires_at <= now:
                continue
            inbox[item.id] = replace(stored, read=True)
            self._add(player_id, {day_of(item): -1})
            marked += 1
        return marked

    def delete(self, player_id: str, item: Notification, day: int | None) -> bool:
        inbox = self.inboxes.get(player_id, {})
        stored = inbox.get(item.id)
        if stored is None or stored.read != item.read:
            return False
        del inbox[item.id]
        if day is not None:
            self._add(player_id, {day: -1})
        return True

    def add_marks(self, player_id: str, *, read: set[str] | None = None, hidden: set[str] | None = None) -> None:
        if not read and not hidden:
            return
        marks = self.marks.get(player_id, BroadcastMarks())
        self.marks[player_id] = replace(
            marks, read=marks.read | frozenset(read or ()), hidden=marks.hidden | frozenset(hidden or ())
        )

    def set_watermark(self, player_id: str, t: str) -> None:
        marks = self.marks.get(player_id)
        if marks is not None and marks.upto and not marks.upto < t:
            return
        self.marks[player_id] = replace(marks or BroadcastMarks(), upto=t, read=frozenset())

    def prune_buckets(self, player_id: str, days: list[int]) -> None:
        counters = self.counters.get(player_id)
        for day in days:
            if counters is not None:
                counters.pop(day, None)

    # reads ------------------------------------------------------------------------------

    def player_meta(self, player_id: str) -> tuple[dict[int, int], BroadcastMarks]:
        return dict(self.counters.get(player_id, {})), self.marks.get(player_id, BroadcastMarks())

    def page(
        self, player_id: str | None, *, before: str | None, limit: int, unread_only: bool = False
    ) -> tuple[list[Notification], str | None]:
        stored = self.inboxes.get(player_id, {}) if player_id else self.broadcasts
        found = sorted(
            (n for n in stored.values() if not (unread_only and n.read)), key=lambda n: n.id[1:], reverse=True
        )
        if before is not None:
            # As the Query: BETWEEN is inclusive, one more is asked, the cursor's own dropped.
            found = [n for n in found if n.id[1:] <= before]
            limit += 1
        evaluated = found[:limit]
        last = evaluated[-1].id[1:] if len(found) > limit else None
        kept = [n for n in evaluated if n.id[1:] != before]
        if before is not None and len(kept) == limit:  # the cursor's own item is gone
            kept = kept[: limit - 1]
            last = kept[-1].id[1:]
        return kept, last

    def broadcasts_after(self, after: str, limit: int) -> list[Notification]:
        newest = sorted((n for n in self.broadcasts.values() if n.id[1:] >= after), key=lambda n: n.id, reverse=True)
        return [n for n in newest[:limit] if n.id[1:] > after]

    def get_many(self, player_id: str, ids: list[str]) -> dict[str, Notification]:
        found: dict[str, Notification] = {}
        for i in dict.fromkeys(ids):
            stored = self.inboxes.get(player_id, {}) if i[0] == "n" else self.broadcasts
            if i in stored:
                found[i] = stored[i]
        return found

    # erasure ----------------------------------------------------------------------------

    def erase_player(self, player_id: str) -> int:
        erased = len(self.inboxes.pop(player_id, {}))
        keys = {k for k in self.dedupe if k[0] == player_id}
        self.dedupe -= keys
        erased += len(keys)
        erased += 1 if self.counters.pop(player_id, None) is not None else 0
        erased += 1 if self.marks.pop(player_id, None) is not None else 0
        return erased


class FakeStatsUpdate:
    """What FakePlayersRepository.stats_update plans: applied later, inside an unlock."""

    def __init__(self, player_id: str, writes: list[StatWrite], now: str, write_id: str | None) -> None:
        self.player_id, self.writes, self.now, self.write_id = player_id, writes, now, write_id


class FakePlayersRepository:
    """The players table: profiles, account status, email claims, rate-limit windows, and
    the stats items (sum, latest, max and min writes under their bounds)."""

    def __init__(self) -> None:
        self.stats: dict[str, PlayerStats] = {}
        # Deleted accounts waiting for their second erasure: queue key -> player id.
        self.erase_again: dict[str, str] = {}
        self.profiles: dict[str, Profile] = {}
        self.statuses: dict[str, AccountStatus] = {}
        self.emails: dict[str, dict[str, str]] = {}
        self.rates: dict[tuple[str, int], int] = {}

    # profiles ---------------------------------------------------------------------------

    def get_profile(self, player_id: str) -> Profile | None:
        return self.profiles.get(player_id)

    def create_profile(self, profile: Profile) -> bool:
        player_id = profile.player_id
        status = self.statuses.get(player_id)
        if status is not None and status.status == DELETED:
            raise AccountDeleted()
        if player_id in self.profiles:
            return False
        self.profiles[player_id] = profile
        return True

    def update_profile(
        self,
        player_id: str,
        *,
        display_name: str | None = None,
        last_seen_at: str | None = None,
        is_guest: bool | None = None,
        email: str | None = None,
    ) -> Profile:
        changes = {
            k: v
            for k, v in (
                ("display_name", display_name),
                ("last_seen_at", last_seen_at),
                ("is_guest", is_guest),
                ("email", email),
            )
            if v is not None
        }
        if not changes:
            raise ValueError("update_profile: nothing to change")
        if player_id not in self.profiles:
            raise ConditionFailed()
        self.profiles[player_id] = replace(self.profiles[player_id], **changes)  # type: ignore[arg-type]
        return self.profiles[player_id]

    def display_names(self, player_ids: list[str]) -> dict[str, str]:
        unique = list(dict.fromkeys(player_ids))[:100]
        return {p: self.profiles[p].display_name or "" for p in unique if p in self.profiles}

    def find_by_name(self, display_name: str, limit: int = 20) -> list[Profile]:
        # As the by_name index: only profiles with a display name, folded, in player id order.
        key = fold_name(display_name)
        found = [p for p in self.profiles.values() if p.display_name and fold_name(p.display_name) == key]
        return sorted(found, key=lambda p: p.player_id)[:limit]

    # account status ---------------------------------------------------------------------

    def get_account_status(self, player_id: str) -> AccountStatus | None:
        return self.statuses.get(player_id)

    def mark_deleted(self, player_id: str, at: str, username: str = "", erase_again_at: str | None = None) -> None:
        self.statuses[player_id] = AccountStatus(
            player_id=player_id, status=DELETED, changed_at=at, username=username or None
        )
        if erase_again_at is not None:
            self.queue_again(player_id, erase_again_at)

    def queue_again(self, player_id: str, at: str) -> None:
        self.erase_again[f"{at}#{player_id}"] = player_id

    def erasures_due(self, now: str, limit: int) -> list[tuple[str, str]]:
        return [(k, self.erase_again[k]) for k in sorted(self.erase_again) if k <= now][:limit]

    def erase_again_done(self, queue_key: str) -> None:
        self.erase_again.pop(queue_key, None)

    def set_ban(self, player_id: str, *, banned: bool, reason: str, by: str, at: str) -> AccountStatus:
        current = self.statuses.get(player_id) or AccountStatus(player_id=player_id)
        if current.status == DELETED:
            raise AccountDeletedMark(current)
        changed = replace(current, status=BANNED if banned else ACTIVE, reason=reason, changed_by=by, changed_at=at)
        self.statuses[player_id] = changed
        return changed

    # email claims and rate limits -------------------------------------------------------

    def claim_email(self, email: str, player_id: str, username: str) -> None:
        held = self.emails.get(email)
        if held is not None and held["player_id"] != player_id:
            raise ConditionFailed()
        self.emails[email] = {"player_id": player_id, "username": username}

    def username_for_email(self, email: str) -> str | None:
        held = self.emails.get(email)
        return held["username"] if held else None

    def player_for_email(self, email: str) -> str | None:
        held = self.emails.get(email)
        return held["player_id"] if held else None

    def release_email(self, email: str) -> None:
        self.emails.pop(email, None)

    def take_rate_token(self, bucket: str, window_start: int, limit: int, expires_at: int) -> bool:
        used = self.rates.get((bucket, window_start), 0)
        if used >= limit:
            return False
        self.rates[(bucket, window_start)] = used + 1
        return True

    # stats ------------------------------------------------------------------------------

    def get_stats(self, player_id: str) -> PlayerStats:
        return self.stats.get(player_id) or PlayerStats(player_id)

    def stats_update(self, player_id: str, writes: list[StatWrite], now: str, write_id: str | None = None) -> Any:
        return FakeStatsUpdate(player_id, list(writes), now, write_id)

    def apply_stats(self, player_id: str, writes: list[StatWrite], now: str) -> PlayerStats:
        if not self._apply(FakeStatsUpdate(player_id, writes, now, None)):
            raise StatsRefused(self.get_stats(player_id))
        return self.get_stats(player_id)

    def apply_extreme(self, player_id: str, write: StatWrite, now: str) -> PlayerStats:
        current = self.get_stats(player_id)
        stored = current.values.get(write.name)
        better = stored is None or (write.value > stored if write.aggregation == "max" else write.value < stored)
        if better:
            self.stats[player_id] = replace(current, values={**current.values, write.name: write.value}, updated_at=now)
        return self.get_stats(player_id)

    def _apply(self, update: FakeStatsUpdate) -> bool:
        """The conditional update: every sum within its bounds, or nothing is written."""
        current = self.get_stats(update.player_id)
        for w in update.writes:
            stored = current.values.get(w.name)
            if w.aggregation != "sum":
                continue
            if stored is None:
                if not w.absent_ok:
                    return False
            elif (w.stored_at_most is not None and stored > w.stored_at_most) or (
                w.stored_at_least is not None and stored < w.stored_at_least
            ):
                return False
        values = dict(current.values)
        for w in update.writes:
            values[w.name] = values.get(w.name, w.default) + w.value if w.aggregation == "sum" else w.value
        self.stats[update.player_id] = replace(
            current, values=values, updated_at=update.now, write_id=update.write_id or current.write_id
        )
        return True

    def erase_player(self, player_id: str) -> int:
        """The player's partition (profile and stats); the account status stays."""
        erased = 1 if self.stats.pop(player_id, None) is not None else 0
        return erased + (1 if self.profiles.pop(player_id, None) is not None else 0)


class FakeAchievementsRepository:
    """Per-player achievement records and the rarity counters; an unlock's reward is
    applied to `players` in the same step, as the real unlock's single transaction does."""

    def __init__(self, players: FakePlayersRepository | None = None) -> None:
        self.players = players or FakePlayersRepository()
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.counters: dict[str, int] = {}

    @staticmethod
    def _as_record(player_id: str, achievement_id: str, item: dict[str, Any]) -> AchievementRecord:
        return AchievementRecord(
            player_id=player_id,
            achievement_id=achievement_id,
            progress=item.get("progress", 0),
            unlocked_at=item.get("unlocked_at"),
            reward_given=bool(item.get("reward_given", False)),
            updated_at=item.get("updated_at"),
        )

    def records(self, player_id: str, bound: int = 1000) -> dict[str, AchievementRecord]:
        pk = achievements_pk(player_id)
        found = sorted((sk, i) for (p, sk), i in self.items.items() if p == pk and sk.startswith(RECORD_PREFIX))
        return {
            sk[len(RECORD_PREFIX) :]: self._as_record(player_id, sk[len(RECORD_PREFIX) :], i) for sk, i in found[:bound]
        }

    def record(self, player_id: str, achievement_id: str, consistent: bool = True) -> AchievementRecord | None:
        item = self.items.get((achievements_pk(player_id), RECORD_PREFIX + achievement_id))
        return self._as_record(player_id, achievement_id, item) if item is not None else None

    def add_progress(self, player_id: str, achievement_id: str, steps: int, now: str) -> tuple[AchievementRecord, bool]:
        key = (achievements_pk(player_id), RECORD_PREFIX + achievement_id)
        item = self.items.get(key)
        if item is not None and "unlocked_at" in item:
            return self._as_record(player_id, achievement_id, item), False
        item = self.items.setdefault(key, {"PK": key[0], "SK": key[1]})
        item.update(
            progress=item.get("progress", 0) + steps, updated_at=now, player_id=player_id, achievement_id=achievement_id
        )
        return self._as_record(player_id, achievement_id, item), True

    def unlock(
        self,
        player_id: str,
        achievement_id: str,
        *,
        now: str,
        progress: float | None,
        reward: Any = None,
    ) -> str | None:
        key = (achievements_pk(player_id), RECORD_PREFIX + achievement_id)
        if "unlocked_at" in self.items.get(key, {}):
            return None
        outcome = "unlocked"
        if reward is not None:
            outcome = "rewarded" if self.players._apply(reward) else "reward_refused"
        item = self.items.setdefault(key, {"PK": key[0], "SK": key[1]})
        item.update(
            unlocked_at=now,
            updated_at=now,
            player_id=player_id,
            achievement_id=achievement_id,
            reward_given=outcome == "rewarded",
        )
        if progress is not None:
            item["progress"] = progress
        self._count(unlocks_counter(achievement_id), 1)
        return outcome

    def _count(self, counter: str, delta: int) -> None:
        self.counters[counter] = self.counters.get(counter, 0) + delta

    def counts(self, counters: list[str]) -> dict[str, int]:
        return {c: self.counters.get(c, 0) for c in counters}

    def count_player(self, player_id: str) -> bool:
        key = (achievements_pk(player_id), COUNTED)
        if key in self.items:
            return False
        self.items[key] = {"PK": key[0], "SK": COUNTED}
        self._count(PLAYERS_COUNTER, 1)
        return True

    def erase_player(self, player_id: str) -> int:
        pk = achievements_pk(player_id)
        keys = [k for k in self.items if k[0] == pk]
        for key in keys:
            item = self.items.pop(key)
            if key[1] == COUNTED:
                self._count(PLAYERS_COUNTER, -1)
            elif item.get("unlocked_at"):
                self._count(unlocks_counter(key[1][len(RECORD_PREFIX) :]), -1)
        return len(keys)
