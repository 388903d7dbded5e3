"""ClientError translation, once, by error code."""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib.errors import AppError, Throttled

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
