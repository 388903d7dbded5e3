"""Players table: profiles, stats, email claims and rate-limit windows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.errors import AccountDeleted, ConditionFailed
from chalicelib.storage.base import TableRepository
from chalicelib.storage.batch import batch_get, batch_write
from chalicelib.storage.cancellation import CONDITION, cancellation, condition_failed
from chalicelib.storage.items import from_item, serialize, to_item, values

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PROFILE = "PROFILE"
STATS = "STATS"
STAT_PREFIX = "s_"
ACCOUNT_STATUS = "STATUS"
# Deleted accounts waiting for their second erasure, sorted by when it is due.
ERASE_AGAIN_PK = "ERASE_AGAIN"
DELETED = "deleted"
BANNED = "banned"
ACTIVE = "active"


def player_pk(player_id: str) -> str:
    return f"P#{player_id}"


def fold_name(display_name: str) -> str:
    """A display name as the `by_name` index keys it: case-folded, spaces collapsed."""
    return " ".join(display_name.split()).casefold()


def _name_keys(player_id: str, display_name: str) -> dict[str, str]:
    return {"NPK": f"N#{fold_name(display_name)}", "NSK": player_id}


def account_pk(player_id: str) -> str:
    # Outside the player's partition: erasure deletes that partition, the status stays.
    return f"ACCOUNT#{player_id}"


def _account_key(player_id: str) -> dict[str, Any]:
    return to_item({"PK": account_pk(player_id), "SK": ACCOUNT_STATUS})


@dataclass(frozen=True)
class Profile:
    """A player's profile. `display_name` is the stored one, which may break today's rule."""

    player_id: str
    username: str = ""
    display_name: str | None = None
    created_at: str = ""
    last_seen_at: str | None = None
    is_guest: bool = True
    email: str | None = None


def _profile(item: Mapping[str, Any]) -> Profile:
    return Profile(
        player_id=str(item["player_id"]),
        username=str(item.get("username") or ""),
        display_name=item.get("display_name"),
        created_at=str(item.get("created_at", "")),
        last_seen_at=item.get("last_seen_at"),
        is_guest=bool(item.get("is_guest", True)),
        email=item.get("email"),
    )


@dataclass(frozen=True)
class AccountStatus:
    """An account's status: `active`, `banned` or `deleted` (final), who set it and why.
    A deletion mark keeps the sign-in `username`."""

    player_id: str
    status: str = ACTIVE
    reason: str | None = None
    changed_at: str | None = None
    changed_by: str | None = None
    username: str | None = None


def _account_status(player_id: str, item: Mapping[str, Any]) -> AccountStatus:
    return AccountStatus(
        player_id=str(item.get("player_id") or player_id),
        status=str(item.get("status", ACTIVE)),
        reason=item.get("reason"),
        changed_at=item.get("changed_at"),
        changed_by=item.get("changed_by"),
        username=item.get("username") or None,
    )


class AccountDeletedMark(ConditionFailed):
    """A ban or unban found the account deleted: `status` is its deletion mark."""

    def __init__(self, status: AccountStatus) -> None:
        super().__init__()
        self.status = status


@dataclass(frozen=True)
class PlayerStats:
    """A player's stored stats: the value of each stat written so far, by name (a stat never
    written is absent), when they were last written, and the id of that write if it had one."""

    player_id: str
    values: Mapping[str, float] = field(default_factory=dict)
    updated_at: str | None = None
    write_id: str | None = None


def _stats(player_id: str, item: Mapping[str, Any]) -> PlayerStats:
    return PlayerStats(
        player_id=player_id,
        values={k[len(STAT_PREFIX) :]: v for k, v in item.items() if k.startswith(STAT_PREFIX)},
        updated_at=item.get("updated_at"),
        write_id=item.get("write_id"),
    )


class StatsRefused(ConditionFailed):
    """A stats update whose bound conditions failed: nothing was written; `stats` is what is stored."""

    def __init__(self, stats: PlayerStats) -> None:
        super().__init__()
        self.stats = stats


@dataclass(frozen=True)
class StatWrite:
    """One stat's part of an update, planned by the stats service."""

    name: str
    aggregation: str  # sum | max | min | latest
    value: float
    default: float = 0
    # For sums: the bound the *stored* value must respect before adding (None: no bound).
    stored_at_most: float | None = None
    stored_at_least: float | None = None
    # For sums: whether adding to the default (no stored value yet) stays in bounds.
    absent_ok: bool = True


class PlayersRepository(TableRepository):
    """Every read and write of the players table."""

    table_key = "players"

    # profiles ---------------------------------------------------------------------------

    def get_profile(self, player_id: str) -> Profile | None:
        resp = self.client.get_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": PROFILE}),
            ConsistentRead=True,
        )
        item = from_item(resp.get("Item"))
        return _profile(item) if item else None

    def create_profile(self, profile: Profile) -> bool:
        """Create the profile unless it exists; True when created.

        One transaction with a check that the account was never deleted, so a token that
        outlives its account can never bring a profile back. Raises AccountDeleted.
        """
        player_id = profile.player_id
        item = {"PK": player_pk(player_id), "SK": PROFILE, **asdict(profile)}
        if profile.display_name:
            item.update(_name_keys(player_id, profile.display_name))
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": to_item(item),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": _account_key(player_id),
                            "ConditionExpression": "attribute_not_exists(PK) OR #st <> :deleted",
                            "ExpressionAttributeNames": {"#st": "status"},
                            "ExpressionAttributeValues": values({":deleted": DELETED}),
                        }
                    },
                ]
            )
            return True
        except ClientError as exc:
            failed = condition_failed(exc)
            if failed is None:
                raise
            cancelled = cancellation(exc)
            if cancelled is not None and cancelled.failed(1):
                raise AccountDeleted() from exc
            return False

    def update_profile(
        self,
        player_id: str,
        *,
        display_name: str | None = None,
        last_seen_at: str | None = None,
        is_guest: bool | None = None,
        email: str | None = None,
    ) -> Profile:
        """Set the given fields of an existing profile; ConditionFailed if there is none."""
        changes: dict[str, Any] = {
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
        if display_name:
            changes.update(_name_keys(player_id, display_name))
        names = {f"#f{i}": k for i, k in enumerate(changes)}
        vals = {f":f{i}": v for i, v in enumerate(changes.values())}
        expr = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(changes)))
        try:
            resp = self.client.update_item(
                TableName=self.table,
                Key=to_item({"PK": player_pk(player_id), "SK": PROFILE}),
                UpdateExpression=expr,
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values(vals),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            failed = condition_failed(exc)
            if failed:
                raise failed from exc
            raise
        return _profile(from_item(resp.get("Attributes")))

    # account status (deleted, banned) ----------------------------------------------------

    def get_account_status(self, player_id: str) -> AccountStatus | None:
        """The account's status, or None for an account never banned nor deleted."""
        resp = self.client.get_item(
            TableName=self.table,
            Key=_account_key(player_id),
            ConsistentRead=True,
        )
        item = from_item(resp.get("Item"))
        return _account_status(player_id, item) if item else None

    def mark_deleted(self, player_id: str, at: str, username: str = "", erase_again_at: str | None = None) -> None:
        """Deleted is final: nothing ever changes the status back. The sign-in username is
        kept on the mark, so a retried deletion can still remove the sign-in account after
        the profile is erased. With `erase_again_at`, the account is also queued for a
        second erasure at that time (see `erasures_due`)."""
        item = {
            "PK": account_pk(player_id),
            "SK": ACCOUNT_STATUS,
            "player_id": player_id,
            "status": DELETED,
            "changed_at": at,
        }
        if username:
            item["username"] = username
        self.client.put_item(TableName=self.table, Item=to_item(item))
        if erase_again_at is not None:
            self.queue_again(player_id, erase_again_at)

    def queue_again(self, player_id: str, at: str) -> None:
        """Queue the account for the second pass at `at` (ISO time): a deleted account is
        erased again, a banned one loses its leaderboard entries again (`erasures_due`)."""
        self.client.put_item(
            TableName=self.table,
            Item=to_item({"PK": ERASE_AGAIN_PK, "SK": f"{at}#{player_id}", "player_id": player_id}),
        )

    def erasures_due(self, now: str, limit: int) -> list[tuple[str, str]]:
        """Accounts whose second pass is due at `now` (ISO time), oldest first: (queue key,
        player id). One partition: deletions and bans are rare."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND SK <= :now",
            ExpressionAttributeValues=values({":pk": ERASE_AGAIN_PK, ":now": now}),
            Limit=limit,
            ConsistentRead=True,
        )
        return [(str(i["SK"]), str(i["player_id"])) for i in map(from_item, resp.get("Items", []))]

    def erase_again_done(self, queue_key: str) -> None:
        self.client.delete_item(TableName=self.table, Key=to_item({"PK": ERASE_AGAIN_PK, "SK": queue_key}))

    def set_ban(self, player_id: str, *, banned: bool, reason: str, by: str, at: str) -> AccountStatus:
        """Ban or unban an account that is not deleted; AccountDeletedMark if it is."""
        try:
            resp = self.client.update_item(
                TableName=self.table,
                Key=_account_key(player_id),
                UpdateExpression="SET #st = :st, reason = :reason, changed_by = :by, changed_at = :at, player_id = :pid",
                ConditionExpression="attribute_not_exists(PK) OR #st <> :deleted",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=values(
                    {
                        ":st": BANNED if banned else ACTIVE,
                        ":reason": reason,
                        ":by": by,
                        ":at": at,
                        ":pid": player_id,
                        ":deleted": DELETED,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if condition_failed(exc):
                mark = from_item(exc.response.get("Item"))  # type: ignore[arg-type]
                raise AccountDeletedMark(_account_status(player_id, mark)) from exc
            raise
        return _account_status(player_id, from_item(resp.get("Attributes")))

    def display_names(self, player_ids: list[str]) -> dict[str, str]:
        """Display names of up to 100 players, in one BatchGetItem (plus retries)."""
        unique = list(dict.fromkeys(player_ids))[:100]
        if not unique:
            return {}
        keys = [to_item({"PK": player_pk(p), "SK": PROFILE}) for p in unique]
        request = {self.table: {"Keys": keys, "ProjectionExpression": "player_id, display_name"}}
        # Names only decorate a listing: what could be read, rather than an error.
        got = batch_get(self.client, request, attempts=5, allow_partial=True)
        return {item["player_id"]: item.get("display_name", "") for _, item in got}

    def find_by_name(self, display_name: str, limit: int = 20) -> list[Profile]:
        """Profiles whose display name matches, ignoring case: one Query of `by_name`."""
        resp = self.client.query(
            TableName=self.table,
            IndexName="by_name",
            KeyConditionExpression="NPK = :n",
            ExpressionAttributeValues=values({":n": f"N#{fold_name(display_name)}"}),
            Limit=limit,
        )
        return [_profile(from_item(raw)) for raw in resp.get("Items", [])]

    def player_for_email(self, email: str) -> str | None:
        """The player holding an email claim (one GetItem), or None."""
        resp = self.client.get_item(TableName=self.table, Key=to_item({"PK": f"EMAIL#{email}", "SK": "EMAIL"}))
        item = from_item(resp.get("Item"))
        return str(item["player_id"]) if item else None

    # stats ------------------------------------------------------------------------------

    def get_stats(self, player_id: str) -> PlayerStats:
        resp = self.client.get_item(
            TableName=self.table,
            Key=to_item({"PK": player_pk(player_id), "SK": STATS}),
            ConsistentRead=True,
        )
        return _stats(player_id, from_item(resp.get("Item")))

    def stats_update(
        self, player_id: str, writes: list[StatWrite], now: str, write_id: str | None = None
    ) -> dict[str, Any]:
        """The conditional update of sum/latest writes, as UpdateItem (or transaction) parameters.

        `write_id`, when given, is stored on the item: a later read that finds it knows no
        other write landed in between (a transaction cannot return the new item).
        """
        names: dict[str, str] = {"#u": "updated_at", "#pid": "player_id"}
        vals: dict[str, Any] = {":now": now, ":pid": player_id}
        sets = ["#u = :now", "#pid = :pid"]
        if write_id is not None:
            names["#w"] = "write_id"
            vals[":wid"] = write_id
            sets.append("#w = :wid")
        conditions: list[str] = []
        for i, w in enumerate(writes):
            names[f"#s{i}"] = STAT_PREFIX + w.name
            if w.aggregation == "sum":
                vals[f":d{i}"] = w.value
                vals[f":z{i}"] = w.default
                sets.append(f"#s{i} = if_not_exists(#s{i}, :z{i}) + :d{i}")
                bound: list[str] = []
                if w.stored_at_most is not None:
                    vals[f":hi{i}"] = w.stored_at_most
                    bound.append(f"#s{i} <= :hi{i}")
                if w.stored_at_least is not None:
                    vals[f":lo{i}"] = w.stored_at_least
                    bound.append(f"#s{i} >= :lo{i}")
                if bound:
                    present = " AND ".join(bound)
                    if w.absent_ok:
                        conditions.append(f"(attribute_not_exists(#s{i}) OR ({present}))")
                    else:
                        conditions.append(f"(attribute_exists(#s{i}) AND {present})")
                elif not w.absent_ok:
                    conditions.append(f"attribute_exists(#s{i})")
            else:  # latest
                vals[f":v{i}"] = w.value
                sets.append(f"#s{i} = :v{i}")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": to_item({"PK": player_pk(player_id), "SK": STATS}),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values(vals),
        }
        if conditions:
            kwargs["ConditionExpression"] = " AND ".join(conditions)
        return kwargs

    def apply_stats(self, player_id: str, writes: list[StatWrite], now: str) -> PlayerStats:
        """Apply sum/latest writes in ONE conditional UpdateItem; returns the new stats.

        Raises StatsRefused with the stored stats when a sum would leave its bounds.
        """
        kwargs = {**self.stats_update(player_id, writes, now), "ReturnValues": "ALL_NEW"}
        if "ConditionExpression" in kwargs:
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            resp = self.client.update_item(**kwargs)
        except ClientError as exc:
            if condition_failed(exc):
                raise StatsRefused(_stats(player_id, from_item(exc.response.get("Item")))) from exc  # type: ignore[arg-type]
            raise
        return _stats(player_id, from_item(resp.get("Attributes")))

    def apply_stats_with(
        self, player_id: str, writes: list[StatWrite], now: str, ops: list[dict[str, Any]], write_id: str
    ) -> None:
        """Sum/latest writes and other operations in ONE transaction (the stats update first).

        Stores `write_id` on the stats item (see stats_update). Raises ConditionFailed with
        the cancellation reasons; retries nothing itself but botocore's own retries, which
        reuse the transaction's ClientRequestToken.
        """
        update = self.stats_update(player_id, writes, now, write_id)
        try:
            self.client.transact_write_items(TransactItems=[{"Update": update}, *ops])  # type: ignore[list-item,typeddict-item]
        except ClientError as exc:
            failed = condition_failed(exc)
            if failed is not None:
                raise failed from exc
            cancelled = cancellation(exc)
            if cancelled is not None and cancelled.conflict and not cancelled.throttled:
                raise ConditionFailed(reasons=list(cancelled.codes)) from exc
            raise

    @staticmethod
    def bounds_refused(failed: ConditionFailed) -> bool:
        """Whether `apply_stats_with` failed on the stats update's own bound conditions (its
        first operation), rather than on one of the other operations or a concurrent write."""
        return bool(failed.reasons) and failed.reasons[0] == CONDITION

    def apply_extreme(self, player_id: str, write: StatWrite, now: str) -> PlayerStats:
        """Apply one max/min write; a value that is not better leaves the stats as they are.
        Returns the stats after it."""
        op = ">" if write.aggregation == "max" else "<"
        try:
            resp = self.client.update_item(
                TableName=self.table,
                Key=to_item({"PK": player_pk(player_id), "SK": STATS}),
                UpdateExpression="SET #s = :v, #u = :now, #pid = :pid",
                ConditionExpression=f"attribute_not_exists(#s) OR :v {op} #s",
                ExpressionAttributeNames={
                    "#s": STAT_PREFIX + write.name,
                    "#u": "updated_at",
                    "#pid": "player_id",
                },
                ExpressionAttributeValues=values({":v": write.value, ":now": now, ":pid": player_id}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return _stats(player_id, from_item(resp.get("Attributes")))
        except ClientError as exc:
            if condition_failed(exc):
                return _stats(player_id, from_item(exc.response.get("Item")))  # type: ignore[arg-type]
            raise

    # email claims (unique emails for upgraded accounts) ----------------------------------

    def claim_email(self, email: str, player_id: str, username: str) -> None:
        """Claim an email for a player; ConditionFailed when someone else holds it."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_item({"PK": f"EMAIL#{email}", "SK": "EMAIL", "player_id": player_id, "username": username}),
                ConditionExpression="attribute_not_exists(PK) OR player_id = :pid",
                ExpressionAttributeValues={":pid": serialize(player_id)},
            )
        except ClientError as exc:
            failed = condition_failed(exc)
            if failed:
                raise failed from exc
            raise

    def username_for_email(self, email: str) -> str | None:
        resp = self.client.get_item(TableName=self.table, Key=to_item({"PK": f"EMAIL#{email}", "SK": "EMAIL"}))
        item = from_item(resp.get("Item"))
        return item.get("username") if item else None

    def release_email(self, email: str) -> None:
        self.client.delete_item(TableName=self.table, Key=to_item({"PK": f"EMAIL#{email}", "SK": "EMAIL"}))

    # rate limits ------------------------------------------------------------------------

    def take_rate_token(self, bucket: str, window_start: int, limit: int, expires_at: int) -> bool:
        """Count one use in a fixed window; False when the window is already full."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"PK": f"RATE#{bucket}", "SK": str(window_start)}),
                UpdateExpression="ADD #n :one SET expires_at = :exp",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "n"},
                ExpressionAttributeValues=values({":one": 1, ":limit": limit, ":exp": expires_at}),
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    # erasure ----------------------------------------------------------------------------

    def erase_player(self, player_id: str) -> int:
        """Delete every item in the player's partition; returns how many."""
        return delete_partition(self.client, self.table, player_pk(player_id))


def delete_partition(client: DynamoDBClient, table: str, pk: str, sk_prefix: str | None = None) -> int:
    """Delete every item under one partition key (optionally one sort-key prefix)."""
    deleted = 0
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk" + (" AND begins_with(SK, :sk)" if sk_prefix else ""),
        "ExpressionAttributeValues": values({":pk": pk, **({":sk": sk_prefix} if sk_prefix else {})}),
        "ProjectionExpression": "PK, SK",
        "Limit": 100,
    }
    while True:
        resp = client.query(**kwargs)
        keys = resp.get("Items", [])
        for start in range(0, len(keys), 25):
            batch_write(client, table, [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]])
        deleted += len(keys)
        last = resp.get("LastEvaluatedKey")
        if not last:
            return deleted
        kwargs["ExclusiveStartKey"] = last
