"""AWS clients, built once per container on first use (never at import).

Low-level clients straight from botocore: boto3's session adds only resources and S3
transfer helpers, which the app does not use, and costs a cold start its import. Most of
botocore (its session, client and config modules) is imported by the first build too.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chalicelib.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# The clients' botocore Config, as its keyword arguments. boto3's `standard` retry mode:
# exponential backoff with jitter on throttling and transient errors. What still fails
# after these attempts surfaces as a 503.
BOTO_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "max_attempts": 4},
    "connect_timeout": 3,
    "read_timeout": 10,
    "max_pool_connections": 32,
}
# A push is best effort and must not hold the triggering request for long.
PUSH_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "max_attempts": 2},
    "connect_timeout": 2,
    "read_timeout": 3,
}

_lock = threading.Lock()
_clients: dict[str, Any] = {}
# Whether the first client build has frozen the process's objects (see _collector_paused).
_frozen = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while a client is built; the process's first build then
    freezes what the process holds (gc.freeze). The collector is left as it was.

    The botocore modules the first build imports and a client's service model and endpoint
    rules are tens of thousands of objects that live as long as the container, as do the
    modules loaded before them. Collections during the build find nothing to free, and
    every later full collection would scan all of them again; on a cold start these
    collections took about a tenth of the time.
    """
    global _frozen
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if not _frozen:
            gc.freeze()
            _frozen = True
    finally:
        if enabled:
            gc.enable()


def _build(service: str, config: dict[str, Any], endpoint_url: str | None = None) -> Any:
    # botocore honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> itself.
    with _collector_paused():
        import botocore.session
        from botocore.config import Config

        return botocore.session.get_session().create_client(
            service, region_name=get_settings().region, endpoint_url=endpoint_url, config=Config(**config)
        )


def _client(service: str) -> Any:
    client = _clients.get(service)
    if client is None:
        with _lock:
            client = _clients.get(service)
            if client is None:
                client = _clients[service] = _build(service, BOTO_CONFIG)
    return client


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def cognito() -> CognitoIdentityProviderClient:
    return _client("cognito-idp")  # type: ignore[no-any-return]


def s3() -> S3Client:
    return _client("s3")  # type: ignore[no-any-return]


def connections_api() -> ApiGatewayManagementApiClient | None:
    """The WebSocket API's `@connections` client; None when no endpoint is configured."""
    endpoint = get_settings().websocket_management_url
    if not endpoint:
        return None
    client = _clients.get("apigatewaymanagementapi")
    if client is None:
        with _lock:
            client = _clients.get("apigatewaymanagementapi")
            if client is None:
                client = _clients["apigatewaymanagementapi"] = _build("apigatewaymanagementapi", PUSH_CONFIG, endpoint)
    return client  # type: ignore[return-value]


def reset_clients() -> None:
    """Drop cached clients (tests point the app at a new endpoint)."""
    with _lock:
        _clients.clear()
