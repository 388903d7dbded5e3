"""ClientError translation, once, by error code."""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib.errors import AppError, ConditionFailed, Throttled

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "Throttling",
        "SlowDown",
        "LimitExceededException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_throttling(exc: ClientError) -> bool:
    return error_code(exc) in THROTTLING_CODES


def translate_client_error(exc: ClientError) -> AppError:
    """What a ClientError that no repository handled means to a client."""
    if is_throttling(exc):
        return Throttled()
    return AppError("the store refused the request", code="store_error")


def condition_failed(exc: ClientError) -> ConditionFailed | None:
    """A ConditionFailed for a failed condition or cancelled transaction, else None."""
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(item=exc.response.get("Item"))  # type: ignore[arg-type]
    if code == "TransactionCanceledException":
        reasons = [
            str(r.get("Code", "None"))
            for r in exc.response.get("CancellationReasons", [])  # type: ignore[attr-defined]
        ]
        if any(r in THROTTLING_CODES or r == "ThrottlingError" for r in reasons):
            return None
        if "ConditionalCheckFailed" in reasons:
            return ConditionFailed(reasons=reasons)
    return None
