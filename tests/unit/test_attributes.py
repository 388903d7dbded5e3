"""chalicelib.storage.attributes converts exactly as boto3.dynamodb.types does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary as Boto3Binary
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.storage import attributes

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.binary(max_size=8),
)
sets = st.one_of(
    st.frozensets(st.integers(min_value=-(10**40), max_value=10**40), max_size=4),
    st.frozensets(st.text(max_size=4), max_size=4),
    st.frozensets(st.binary(max_size=4), max_size=4),
    st.frozensets(st.one_of(st.text(max_size=3), st.integers(), st.floats(allow_nan=False)), max_size=3),
    st.frozensets(st.one_of(st.booleans(), st.decimals(allow_nan=False, allow_infinity=False)), max_size=3),
)
values = st.recursive(
    st.one_of(scalars, sets),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
    ),
    max_leaves=12,
)


def _outcome(fn: Any, value: Any) -> Any:
    try:
        return ("ok", _plain(fn(value)))
    except Exception as exc:  # the same error, by type and message
        return ("error", type(exc), str(exc))


def _plain(value: Any) -> Any:
    """Comparable form: Binary wrappers (either library's) as bytes, sets as sorted lists."""
    if isinstance(value, (attributes.Binary, Boto3Binary)):
        return ("binary", bytes(value.value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return ("set", sorted((_plain(v) for v in value), key=repr))
    if isinstance(value, Decimal):
        return ("decimal", str(value))
    return value


@settings(max_examples=400, deadline=None)
@given(values)
def test_serialize_matches_boto3(value: Any) -> None:
    assert _outcome(attributes.serialize, value) == _outcome(_serializer.serialize, value)


@settings(max_examples=400, deadline=None)
@given(values)
def test_deserialize_matches_boto3(value: Any) -> None:
    try:
        serialized = _serializer.serialize(value)
    except Exception:  # not storable: nothing to read back
        return
    assert _outcome(attributes.deserialize, serialized) == _outcome(_deserializer.deserialize, serialized)


def test_numbers_beyond_dynamodb_are_refused_as_by_boto3() -> None:
    for value in (Decimal("1e200"), Decimal("1.000000000000000000000000000000000000001"), Decimal("NaN"), 10**39):
        assert _outcome(attributes.serialize, value) == _outcome(_serializer.serialize, value)
        assert _outcome(attributes.serialize, value)[0] == "error"
    for raw in ({}, {"X": "1"}):
        assert _outcome(attributes.deserialize, raw)[0] == "error"
        assert _outcome(_deserializer.deserialize, raw)[0] == "error"
