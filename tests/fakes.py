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
from dataclasses import asdict, replace

from chalicelib.errors import Conflict, Unauthorized
from chalicelib.storage.accounts import Tokens
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
        self.object_checksums[key] = (
            base64.b64encode(hashlib.sha256(body).digest()).decode() if with_checksum else None
        )

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
