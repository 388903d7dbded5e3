"""A plain body check accepts only what its model accepts, and gives what the model gives.

Whatever it refuses goes to the model, which words the error, so a route answers the same
with or without its check; the check only spares the common request loading pydantic.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.api.http import to_jsonable
from chalicelib.models.checks import stats_update
from chalicelib.models.players import StatsUpdate

names = st.one_of(
    st.sampled_from(["kills", "xp", "matches_played", "", "x" * 40, "x" * 41, " kills", "é" * 40]),
    st.text(max_size=45),
)
numbers = st.one_of(
    st.integers(-(10**17), 10**17),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 1e15, -1e15, 1e15 + 2, 10**15, 10**15 + 1, 0.5, -0.0]),
)
values = st.one_of(numbers, st.booleans(), st.none(), st.text(max_size=3), st.lists(st.integers(), max_size=2))
updates = st.dictionaries(names, values, max_size=55)
bodies = st.one_of(
    st.builds(lambda u: {"updates": u}, updates),
    st.builds(
        lambda u, extra: {"updates": u, **extra},
        updates,
        st.dictionaries(st.text(max_size=8), st.integers(), max_size=2),
    ),
    st.dictionaries(names, values, max_size=3),
    st.lists(st.integers(), max_size=2),
    st.none(),
    st.integers(),
    st.builds(lambda u: {"updates": u}, st.one_of(st.lists(numbers, max_size=2), st.text(max_size=3), st.none())),
)


def _model(data: Any) -> Any:
    try:
        return StatsUpdate.model_validate(data)
    except ValidationError:
        return None


@settings(max_examples=1000, deadline=None)
@given(data=bodies)
def test_the_stats_check_accepts_only_what_the_model_accepts_and_gives_the_same(data: Any) -> None:
    checked = stats_update(data)
    if checked is None:
        return  # the model decides (and words the error)
    model = _model(data)
    assert model is not None, data
    # Same values, same types (1 becomes 1.0 both ways), same JSON for the idempotency record.
    assert repr(checked.updates) == repr(model.updates)
    assert json.dumps(to_jsonable(checked)) == json.dumps(to_jsonable(model))


@settings(max_examples=300, deadline=None)
@given(
    data=st.dictionaries(
        st.text(min_size=1, max_size=40),
        st.one_of(st.integers(-(10**15), 10**15), st.floats(min_value=-1e15, max_value=1e15, allow_nan=False)),
        min_size=1,
        max_size=50,
    )
)
def test_the_stats_check_accepts_every_valid_update(data: dict[str, Any]) -> None:
    """A valid body never needs the model (the point of the check)."""
    body = {"updates": data}
    assert _model(body) is not None
    checked = stats_update(body)
    assert checked is not None
    assert dataclasses.asdict(checked) == {"updates": {k: float(v) for k, v in data.items()}}
    assert all(math.isfinite(v) for v in checked.updates.values())
