"""Domain errors. Services raise these; chalicelib.api.http maps them to HTTP once."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error a client may be told about."""

    status = 500
    code = "internal"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details
        self.retry_after = retry_after


class Invalid(AppError):
    """400: the request is malformed; `details` names the field."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        if field is not None and "details" not in kwargs:
            kwargs["details"] = {"field": field}
        super().__init__(message, **kwargs)
        self.field = field


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class AccountDeleted(Unauthorized):
    """401: the token is valid but its account was deleted; nothing is written for it."""

    code = "account_deleted"

    def __init__(self, message: str = "this account was deleted", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class AccountBanned(Forbidden):
    """403: the account is banned; every route and sign-in refuse it until it is unbanned."""

    code = "account_banned"

    def __init__(self, message: str = "this account is banned", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class NotFound(AppError):
    status = 404
    code = "not_found"


class MethodNotAllowed(AppError):
    """405: the path has routes, none for this method (`details.allow` lists them)."""

    status = 405
    code = "method_not_allowed"


class Conflict(AppError):
    """409: the state changed under the caller; `details` carries the current state."""

    status = 409
    code = "conflict"


class TooLarge(AppError):
    status = 413
    code = "too_large"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"


class Throttled(AppError):
    """503: the store is throttling after boto3's own retries."""

    status = 503
    code = "throttled"

    def __init__(self, message: str = "the service is busy, retry shortly", **kwargs: Any) -> None:
        kwargs.setdefault("retry_after", 1)
        super().__init__(message, **kwargs)


class ConditionFailed(Exception):
    """A conditional write did not apply; services decide what that means."""

    def __init__(self, item: dict[str, Any] | None = None, reasons: list[str] | None = None) -> None:
        super().__init__("condition failed")
        self.item = item
        self.reasons = reasons or []
