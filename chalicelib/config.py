"""Settings from the environment: one frozen object, the only reader of os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

DEFAULT_REGION = "us-east-1"


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, resolved once per container."""

    stage: str = "local"
    region: str = DEFAULT_REGION
    # Where boto3 sends requests: None means real AWS. The local backend sets
    # AWS_ENDPOINT_URL, which boto3 itself honours; we read it only to find the JWKS.
    endpoint_url: str | None = None
    # "app": no gateway authorizer on the routes (chalice local); "cognito": API Gateway's
    # Cognito user-pool authorizer. In both modes the app verifies the token itself.
    auth_mode: str = "cognito"
    user_pool_id: str = ""
    user_pool_arn: str = ""
    user_pool_client_id: str = ""
    jwks_url_override: str | None = None
    table_prefix: str = "game-backend"
    table_names: dict[str, str] = field(default_factory=dict)
    bucket_names: dict[str, str] = field(default_factory=dict)
    # Stream ARNs by table key (STREAM_ARN_EVENTS); a placeholder when unset.
    stream_arns: dict[str, str] = field(default_factory=dict)
    # Request limits.
    max_body_bytes: int = 256 * 1024
    # Guest accounts: at most this many per source address per window.
    guest_rate_limit: int = 10
    guest_rate_window_seconds: int = 60
    admin_group: str = "admins"
    # The WebSocket API's management endpoint (`https://<api>.execute-api.<region>.
    # amazonaws.com/<stage>`, locally the loopback gateway's): where pushes are posted.
    # Unset: nothing is pushed (players learn by polling).
    websocket_management_url: str | None = None
    # How long an Idempotency-Key's answer is kept (25 hours; never under 24).
    idempotency_ttl_seconds: int = 25 * 3600

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        if self.jwks_url_override:
            return self.jwks_url_override
        if self.endpoint_url:
            # The stand-in serves the pool's keys under its own address.
            return f"{self.endpoint_url.rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"
        return f"{self.issuer}/.well-known/jwks.json"

    def table_name(self, key: str) -> str:
        return self.table_names.get(key) or f"{self.table_prefix}-{key}"

    def stream_arn(self, key: str) -> str:
        """The table's stream ARN; unset, a placeholder naming the table (the local
        event runner resolves it by table name), so importing the app never fails."""
        return self.stream_arns.get(key) or (
            f"arn:aws:dynamodb:{self.region}:000000000000:table/{self.table_name(key)}/stream/unset"
        )

    def bucket_name(self, key: str) -> str:
        return self.bucket_names.get(key) or f"{self.table_prefix}-{key}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        tables = {
            name[len("TABLE_") :].lower(): value
            for name, value in env.items()
            if name.startswith("TABLE_") and name != "TABLE_PREFIX" and value
        }
        buckets = {
            name[len("BUCKET_") :].lower(): value for name, value in env.items() if name.startswith("BUCKET_") and value
        }
        streams = {
            name[len("STREAM_ARN_") :].lower(): value
            for name, value in env.items()
            if name.startswith("STREAM_ARN_") and value
        }
        return cls(
            stage=env.get("APP_STAGE", "local"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            auth_mode=env.get("AUTH_MODE", "cognito"),
            user_pool_id=env.get("USER_POOL_ID", ""),
            user_pool_arn=env.get("USER_POOL_ARN", ""),
            user_pool_client_id=env.get("USER_POOL_CLIENT_ID", ""),
            jwks_url_override=env.get("JWKS_URL") or None,
            table_prefix=env.get("TABLE_PREFIX", "game-backend"),
            table_names=tables,
            bucket_names=buckets,
            stream_arns=streams,
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 256 * 1024),
            guest_rate_limit=_int(env, "GUEST_RATE_LIMIT", 10),
            guest_rate_window_seconds=_int(env, "GUEST_RATE_WINDOW_SECONDS", 60),
            admin_group=env.get("ADMIN_GROUP", "admins"),
            websocket_management_url=env.get("WEBSOCKET_MANAGEMENT_URL") or None,
            idempotency_ttl_seconds=max(24 * 3600 + 60, _int(env, "IDEMPOTENCY_TTL_SECONDS", 25 * 3600)),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this container, read on first use."""
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between apps)."""
    get_settings.cache_clear()
