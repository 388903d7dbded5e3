"""`Idempotency-Key`: a retried write answers what its first attempt answered, once.

Built on Powertools' idempotency utility with its DynamoDB persistence layer (the
`idempotency` table of the data definition). A key belongs to the caller: the record is
keyed by the player and the key, and validated against the method, path, query and body,
so the same key with another request is a 409 `idempotency_key_reused`. A request still
running under the same key is a 409 `idempotency_in_progress` (retry after a second). A
failed request (any error answer) keeps no record: its retry runs again. Records are kept
`IDEMPOTENCY_TTL_SECONDS` (25 hours by default, never under 24).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings
from chalicelib.errors import Conflict, Invalid, Throttled

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-.:]{8,128}$")
KEY_RULE = "8 to 128 characters: letters, digits, '-', '_', '.', ':' (a UUID fits)"


@lru_cache(maxsize=1)
def _persistence() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from chalicelib.storage import aws

    return DynamoDBPersistenceLayer(table_name=get_settings().table_name("idempotency"), boto3_client=aws.dynamodb())


def reset_idempotency() -> None:
    _persistence.cache_clear()


def key_of(headers: Any) -> str | None:
    """The request's Idempotency-Key, validated; None when absent."""
    value = headers.get(HEADER.lower()) if headers is not None else None
    if value is None:
        return None
    if not KEY_PATTERN.match(value):
        raise Invalid(f"{HEADER}: {KEY_RULE}", field=HEADER)
    return str(value)


def run_once(
    *, player_id: str, key: str, request: dict[str, Any], handler: Callable[[], Any], lambda_context: Any = None
) -> tuple[Any, bool]:
    """Run `handler` once per (player, key): its JSON answer, and whether it is a replay."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    def mark_replay(response: Any, record: Any) -> Any:
        return {**response, "replayed": True}

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        response_hook=mark_replay,  # type: ignore[arg-type]
    )
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        # A request that dies mid-way frees its key when its invocation would have timed out.
        config.register_lambda_context(lambda_context)

    def execute(record: dict[str, Any]) -> dict[str, Any]:
        return {"body": handler(), "replayed": False}

    once = idempotent_function(
        execute,
        data_keyword_argument="record",
        persistence_store=_persistence(),
        config=config,
        key_prefix="game-backend",
    )
    try:
        result = once(record={"key": f"{player_id}#{key}", "request": request})
    except IdempotencyValidationError:
        raise Conflict(
            f"this {HEADER} was used with another request",
            code="idempotency_key_reused",
            details={"field": HEADER},
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            f"a request with this {HEADER} is in progress; retry shortly",
            code="idempotency_in_progress",
            retry_after=1,
            details={"field": HEADER},
        ) from None
    except IdempotencyPersistenceLayerError as exc:
        raise Throttled("the idempotency store is unavailable, retry shortly") from exc
    return result["body"], bool(result.get("replayed"))
