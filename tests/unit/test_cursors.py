"""The one cursor codec: opaque, checked, bound to its listing and player."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import Invalid
from chalicelib.services import cursors
from chalicelib.services.notifications import decode_cursor, encode_cursor

SCOPE = {"list": "notifications", "player": "p1", "unread_only": False}
text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


def _body(cursor: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def _pack(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@given(position=st.dictionaries(st.sampled_from("abt"), text, min_size=1))
def test_round_trip(position):
    assert cursors.decode(cursors.encode(SCOPE, position), SCOPE) == position


@given(position=st.dictionaries(st.sampled_from("abt"), text, min_size=1), other=text)
def test_a_cursor_is_refused_in_any_other_scope(position, other):
    cursor = cursors.encode(SCOPE, position)
    for changed in ({**SCOPE, "player": other}, {**SCOPE, "list": other}, {**SCOPE, "unread_only": True}):
        if changed != SCOPE:
            with pytest.raises(Invalid):
                cursors.decode(cursor, changed)


def test_an_altered_position_is_refused():
    cursor = cursors.encode(SCOPE, {"t": "1700000000000deadbeef"})
    body = _body(cursor)
    for forged in (
        {**body, "p": {"t": "1700000000001deadbeef"}},
        {**body, "p": {"t": "1700000000000deadbeef", "x": 1}},
        {**body, "x": 1},
        {"p": body["p"]},
        {"p": "t", "s": body["s"]},
        [1, 2],
    ):
        with pytest.raises(Invalid) as raised:
            cursors.decode(_pack(forged), SCOPE)
        assert raised.value.status == 400 and raised.value.details == {"field": "cursor"}


@pytest.mark.parametrize("bad", ["", "!!!", "%%%", "e30", "a" * 600, "////"])
def test_garbage_is_refused(bad):
    with pytest.raises(Invalid):
        cursors.decode(bad, SCOPE)


def test_the_listing_validates_the_position_too():
    cursor = cursors.encode(SCOPE, {"t": "not a position"})
    assert cursors.decode(cursor, SCOPE) == {"t": "not a position"}
    with pytest.raises(Invalid):
        cursors.decode(cursor, SCOPE, valid=lambda p: p["t"].isdigit())


def test_notification_cursors_belong_to_one_player_and_one_listing():
    t = "1700000000000" + "deadbeef"
    mine = encode_cursor(t, player_id="p1")
    assert decode_cursor(mine, player_id="p1") == t
    with pytest.raises(Invalid):
        decode_cursor(mine, player_id="p2")
    with pytest.raises(Invalid):
        decode_cursor(mine, player_id="p1", unread_only=True)
