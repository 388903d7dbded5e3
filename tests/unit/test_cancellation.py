"""Reading cancelled transactions: one reader for every repository."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ConditionFailed
from chalicelib.storage.cancellation import cancellation, condition_failed


def _cancelled(*codes: str | None, items: dict[int, dict[str, Any]] | None = None) -> ClientError:
    reasons: list[dict[str, Any]] = []
    for i, code in enumerate(codes):
        reason: dict[str, Any] = {} if code is None else {"Code": code}
        if items and i in items:
            reason["Item"] = items[i]
        reasons.append(reason)
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}, "CancellationReasons": reasons},  # type: ignore[typeddict-unknown-key]
        "TransactWriteItems",
    )


def _error(code: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}, **extra}, "UpdateItem")  # type: ignore[typeddict-item]


def test_reasons_are_read_in_request_order_with_their_items():
    old = {"PK": {"S": "P#1"}, "v": {"N": "3"}}
    got = cancellation(_cancelled("None", "ConditionalCheckFailed", None, items={1: old}))
    assert got is not None
    assert got.codes == ("None", "ConditionalCheckFailed", "None")
    assert got.failed(1) and not got.failed(0) and not got.failed(2) and not got.failed(7)
    assert got.item(1) == old and got.item(0) is None and got.item(9) is None
    assert got.failed_indexes() == [1]
    assert got.condition_failed and not got.conflict and not got.throttled


def test_conflicts_and_throttling_are_told_apart():
    conflict = cancellation(_cancelled("TransactionConflict", "ConditionalCheckFailed", "None"))
    assert conflict is not None and conflict.conflict and not conflict.throttled
    assert conflict.failed_indexes(with_conflicts=True) == [0, 1]
    assert conflict.failed_indexes() == [1]
    for code in ("ThrottlingError", "ProvisionedThroughputExceededException"):
        throttled = cancellation(_cancelled("None", code))
        assert throttled is not None and throttled.throttled and not throttled.conflict


def test_other_errors_are_not_cancellations():
    assert cancellation(_error("ConditionalCheckFailedException")) is None
    assert cancellation(_error("ValidationException")) is None
    empty = cancellation(ClientError({"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems"))
    assert empty is not None and empty.codes == () and not empty.condition_failed


def test_condition_failed_for_a_single_write_keeps_the_old_item():
    failed = condition_failed(_error("ConditionalCheckFailedException", Item={"v": {"N": "2"}}))
    assert isinstance(failed, ConditionFailed) and failed.item == {"v": {"N": "2"}}


def test_condition_failed_for_a_transaction_carries_the_reasons():
    failed = condition_failed(_cancelled("None", "ConditionalCheckFailed"))
    assert isinstance(failed, ConditionFailed) and failed.reasons == ["None", "ConditionalCheckFailed"]


def test_a_throttled_or_conflicting_transaction_is_not_a_failed_condition():
    assert condition_failed(_cancelled("ConditionalCheckFailed", "ThrottlingError")) is None
    assert condition_failed(_cancelled("TransactionConflict", "None")) is None
    assert condition_failed(_error("ProvisionedThroughputExceededException")) is None
