"""DynamoDB attribute values to and from Python values, by boto3's rules.

The same conversions as boto3.dynamodb.types (tests/unit/test_attributes.py checks them
against it), without importing boto3: the app's clients come from botocore, and boto3's
package import is a measurable share of a cold start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# What a DynamoDB number holds: 38 digits, exponents -128 to 126; anything inexact raises.
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
_BINARY_TYPES = (bytearray, bytes)


class Binary:
    """A binary attribute read back (boto3's `Binary`): bytes that compare as bytes."""

    def __init__(self, value: bytes | bytearray) -> None:
        if not isinstance(value, _BINARY_TYPES):
            raise TypeError("Value must be of the following types: bytearray, bytes")
        self.value = value

    def __eq__(self, other: object) -> bool:
        return self.value == (other.value if isinstance(other, Binary) else other)

    def __hash__(self) -> int:
        return hash(self.value)

    def __bytes__(self) -> bytes:
        return bytes(self.value)

    def __repr__(self) -> str:
        return f"Binary({self.value!r})"


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, (int, Decimal))  # a bool too, as in boto3 (serialize tests bools first)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_binary(value: Any) -> bool:
    return isinstance(value, (Binary, bytearray, bytes))


def _set_of(value: Any, kind: Callable[[Any], bool]) -> bool:
    return isinstance(value, Set) and all(kind(v) for v in value)


def _number(value: Any) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _binary(value: Any) -> Any:
    return value.value if isinstance(value, Binary) else value


def serialize(value: Any) -> dict[str, Any]:
    """One Python value as an attribute value: 3 -> {"N": "3"} (floats refused: use Decimal)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if _is_string(value):
        return {"S": value}
    if _is_binary(value):
        return {"B": _binary(value)}
    if _set_of(value, _is_number):
        return {"NS": [_number(v) for v in value]}
    if _set_of(value, _is_string):
        return {"SS": list(value)}
    if _set_of(value, _is_binary):
        return {"BS": [_binary(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {k: serialize(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def deserialize(value: Mapping[str, Any]) -> Any:
    """One attribute value as a Python value: {"N": "3"} -> Decimal("3")."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, raw = next(iter(value.items()))
    if kind == "NULL":
        return None
    if kind in ("BOOL", "S"):
        return raw
    if kind == "N":
        return DYNAMODB_CONTEXT.create_decimal(raw)
    if kind == "B":
        return Binary(raw)
    if kind == "NS":
        return {DYNAMODB_CONTEXT.create_decimal(v) for v in raw}
    if kind == "SS":
        return set(raw)
    if kind == "BS":
        return {Binary(v) for v in raw}
    if kind == "L":
        return [deserialize(v) for v in raw]
    if kind == "M":
        return {k: deserialize(v) for k, v in raw.items()}
    raise TypeError(f"Dynamodb type {kind} is not supported")
