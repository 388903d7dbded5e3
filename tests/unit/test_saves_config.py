"""The saves section of the game config, and the canonical bytes a save's checksum covers."""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import Invalid
from chalicelib.game_config import GAME_CONFIG_PATH, GameConfigError, parse_game_config
from chalicelib.services.saves import MAX_DEPTH, canonical_bytes, check_slot


def _game(**saves: object) -> dict[str, object]:
    raw = json.loads(GAME_CONFIG_PATH.read_text())
    raw["saves"] = {**raw["saves"], **saves}
    return raw


def test_example_game_declares_saves_and_shows_them_to_clients():
    config = parse_game_config(_game())
    assert config.saves.max_inline_bytes == 64 * 1024
    assert config.client_view()["saves"]["max_slots"] == config.saves.max_slots


@pytest.mark.parametrize(
    ("saves", "named"),
    [
        ({"max_slots": 0}, "saves.max_slots"),
        ({"max_inline_bytes": 400_000}, "saves.max_inline_bytes"),
        ({"max_object_bytes": 10, "max_inline_bytes": 100}, "max_object_bytes is smaller"),
        ({"upload_url_seconds": 10}, "saves.upload_url_seconds"),
        ({"max_slot": 3}, "saves.max_slot"),
    ],
)
def test_bad_saves_entry_fails_loading_with_its_name(saves, named):
    with pytest.raises(GameConfigError) as err:
        parse_game_config(_game(**saves))
    assert named in str(err.value)


def test_canonical_bytes_sort_keys_and_keep_unicode():
    assert canonical_bytes({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'.encode()
    assert canonical_bytes({"a": 1, "b": 2}) == canonical_bytes({"b": 2, "a": 1})


def test_depth_cap_and_non_finite_numbers():
    ok: object = 1
    for _ in range(MAX_DEPTH):
        ok = [ok]
    canonical_bytes(ok)
    with pytest.raises(Invalid) as err:
        canonical_bytes([ok])
    assert err.value.field == "data"
    with pytest.raises(Invalid):
        canonical_bytes({"x": float("nan")})


@pytest.mark.parametrize("slot", ["a", "0", "slot-1", "my_save", "a" * 32])
def test_good_slot_names(slot):
    assert check_slot(slot) == slot


@pytest.mark.parametrize("slot", ["", "A", "-a", "_a", "a" * 33, "a.b", "a/b", "é", "a b", "a\n"])
def test_bad_slot_names(slot):
    with pytest.raises(Invalid) as err:
        check_slot(slot)
    assert err.value.field == "slot"
