"""Shared model pieces: strict requests, limits, the error body, the seed envelope."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from chalicelib.models.checks import MAX_ABS_NUMBER, STAT_NAME_MAX


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if abs(value) > MAX_ABS_NUMBER:
        raise ValueError(f"must be within +/-{MAX_ABS_NUMBER:g}")
    return value


# Strict: a JSON number only (no numeric strings, no booleans).
FiniteNumber = Annotated[float, Strict(), AfterValidator(_finite)]
StatName = Annotated[str, Field(min_length=1, max_length=STAT_NAME_MAX)]


class RequestModel(BaseModel):
    """Requests forbid extra fields, so a typo is a 400 naming it."""

    # defer_build: a model's validator is built when first used, not when `import app`
    # declares the routes (most containers serve a few routes).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, defer_build=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ErrorBody(ResponseModel):
    error: str = Field(description="Human-readable message")
    code: str = Field(description="Machine-readable code")
    details: Any = None
    request_id: str | None = Field(default=None, description="On a 5xx: the id to quote when reporting it")


class SeedEnvelope(RequestModel):
    """The seed Unity client's request: `{functionName, playerId, payload, headers, timestamp}`.

    `playerId` is accepted and ignored: identity comes from the token.
    """

    functionName: str | None = Field(default=None, max_length=64)
    playerId: str | None = Field(default=None, max_length=256)
    payload: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] | None = None
    timestamp: FiniteNumber | None = None
    action: str | None = Field(default=None, max_length=32)
