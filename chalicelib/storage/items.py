"""Conversion between plain Python values and DynamoDB's attribute-value maps."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.storage import attributes


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        # repr() is the shortest string that round-trips: 0.1 -> Decimal("0.1").
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, set):
        return {_from_dynamo(v) for v in value}
    return value


def serialize(value: Any) -> dict[str, Any]:
    """One attribute value: 3 -> {"N": "3"}."""
    return attributes.serialize(_to_dynamo(value))


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """A whole item from a dict of plain values (None values are dropped)."""
    return {k: serialize(v) for k, v in data.items() if v is not None}


def from_item(item: Mapping[str, Any] | None) -> dict[str, Any]:
    """Plain values from an item; whole-number decimals become ints, others floats."""
    if not item:
        return {}
    return {k: _from_dynamo(attributes.deserialize(v)) for k, v in item.items()}


def values(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """ExpressionAttributeValues from {":name": plain value}."""
    return {k: serialize(v) for k, v in mapping.items()}
