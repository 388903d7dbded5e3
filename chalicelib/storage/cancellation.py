"""Reading a cancelled TransactWriteItems (or a failed conditional write): which item, and why.

DynamoDB answers a cancelled transaction with one reason per item, in the order of the
request: `None` (that item was fine), `ConditionalCheckFailed` (its condition failed; the
old item comes with it when `ReturnValuesOnConditionCheckFailure` asked for it),
`TransactionConflict` (another transaction held it), `ThrottlingError` and a few others.
Every repository reads them here, and decides what they mean for its items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ConditionFailed
from chalicelib.storage.errors import THROTTLING_CODES, error_code

CANCELLED = "TransactionCanceledException"
CONDITION = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"
_THROTTLED = frozenset({"ThrottlingError", *THROTTLING_CODES})


@dataclass(frozen=True)
class Cancellation:
    """The reasons of one cancelled transaction, one per item in the request's order."""

    codes: tuple[str, ...]
    items: tuple[dict[str, Any] | None, ...]  # the old item (DynamoDB-typed) where one came back

    @property
    def throttled(self) -> bool:
        """Some item was throttled: the store is busy (botocore does not retry a cancellation)."""
        return any(c in _THROTTLED for c in self.codes)

    @property
    def conflict(self) -> bool:
        """Another transaction held one of the items: a race lost, worth another attempt."""
        return CONFLICT in self.codes

    @property
    def condition_failed(self) -> bool:
        return CONDITION in self.codes

    def failed(self, index: int) -> bool:
        """The condition of the item at `index` failed."""
        return 0 <= index < len(self.codes) and self.codes[index] == CONDITION

    def failed_indexes(self, *, with_conflicts: bool = False) -> list[int]:
        """The items whose condition failed (and, if asked, those another transaction held)."""
        wanted = {CONDITION, CONFLICT} if with_conflicts else {CONDITION}
        return [i for i, c in enumerate(self.codes) if c in wanted]

    def item(self, index: int) -> dict[str, Any] | None:
        """The old item returned for the item at `index`, if any."""
        return self.items[index] if 0 <= index < len(self.items) else None


def cancellation(exc: ClientError) -> Cancellation | None:
    """The reasons of a cancelled transaction; None for any other error."""
    if error_code(exc) != CANCELLED:
        return None
    raw: Any = exc.response.get("CancellationReasons") or []
    reasons = [r if isinstance(r, dict) else {} for r in raw]
    return Cancellation(
        codes=tuple(str(r.get("Code") or "None") for r in reasons),
        items=tuple(r.get("Item") or None for r in reasons),
    )


def condition_failed(exc: ClientError) -> ConditionFailed | None:
    """A ConditionFailed for a failed condition or a transaction cancelled by one (unless
    something was throttled: that is the store being busy, not a lost race); else None."""
    if error_code(exc) == "ConditionalCheckFailedException":
        return ConditionFailed(item=exc.response.get("Item"))  # type: ignore[arg-type]
    cancelled = cancellation(exc)
    if cancelled is not None and not cancelled.throttled and cancelled.condition_failed:
        return ConditionFailed(reasons=list(cancelled.codes))
    return None
