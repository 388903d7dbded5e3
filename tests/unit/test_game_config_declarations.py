"""The declarations the app runs on are exactly what the schema makes of the config.

A container loading the checked game.json builds them without pydantic; every other
config goes through the schema. Both ways must give the same objects, value for value
and type for type (an int is not a float: the JSON answers would differ).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from chalicelib.game_config import (
    CHECKED_SHA256,
    GAME_CONFIG_PATH,
    GameConfigError,
    declarations,
    digest,
    load_game_config,
    parse_game_config,
    schema,
)

RAW = json.loads(GAME_CONFIG_PATH.read_bytes())

PAIRS: list[tuple[type[Any], type[BaseModel]]] = [
    (declarations.StatDef, schema.StatDef),
    (declarations.BoardDef, schema.BoardDef),
    (declarations.SkillWindow, schema.SkillWindow),
    (declarations.QueueDef, schema.QueueDef),
    (declarations.AchievementReward, schema.AchievementReward),
    (declarations.AchievementDef, schema.AchievementDef),
    (declarations.NotificationsConfig, schema.NotificationsConfig),
    (declarations.EventsDef, schema.EventsDef),
    (declarations.SavesConfig, schema.SavesConfig),
    (declarations.GameConfig, schema.GameConfig),
]


def test_the_shipped_game_json_is_the_checked_one() -> None:
    found = digest(GAME_CONFIG_PATH.read_bytes())
    assert parse_game_config(RAW, source="game.json")  # the schema accepts it
    assert found == CHECKED_SHA256, (
        f"game.json changed: once the schema accepts it, set CHECKED_SHA256 in "
        f"chalicelib/game_config/__init__.py to {found!r} (until then it is checked at every load)"
    )


def test_the_digest_ignores_line_endings() -> None:
    lf = GAME_CONFIG_PATH.read_bytes().replace(b"\r\n", b"\n")
    assert digest(lf.replace(b"\n", b"\r\n")) == digest(lf) == hashlib.sha256(lf).hexdigest()


@pytest.mark.parametrize(("plain", "model"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_each_declaration_has_the_schemas_fields_in_order_with_its_defaults(
    plain: type[Any], model: type[BaseModel]
) -> None:
    fields = dataclasses.fields(plain)
    assert [f.name for f in fields] == list(model.model_fields)
    for f in fields:
        schema_field = model.model_fields[f.name]
        if schema_field.is_required():
            assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, f.name
        elif schema_field.default_factory is not None:
            made = f.default_factory()  # type: ignore[misc]
            expected = schema_field.default_factory()  # type: ignore[call-arg]
            assert repr(made) == repr(declarations.from_model(type(made), expected) if dataclasses.is_dataclass(made)
                                      else expected), f.name
        else:
            assert repr(f.default) == repr(schema_field.default), f.name


def _variant() -> dict[str, Any]:
    """The shipped config with floats given as ints, lists for tuples, fields left out."""
    raw = json.loads(json.dumps(RAW))
    raw["stats"]["extra"] = {"aggregation": "latest", "type": "float", "min": -3, "max": 7, "default": 2}
    raw["queues"]["duel"]["window"] = {"initial": 5, "max": 10}
    raw["events"]["types"] = ["session_start", "b"]
    raw["achievements"]["founder"]["reward"] = {"stat": "xp", "amount": 3}
    del raw["saves"]
    return raw


@pytest.mark.parametrize("raw", [RAW, _variant()], ids=["shipped", "variant"])
def test_the_checked_file_loads_as_the_schema_makes_it(raw: dict[str, Any]) -> None:
    checked = declarations.from_checked(declarations.GameConfig, raw)
    parsed = parse_game_config(raw)
    assert repr(checked) == repr(parsed)
    validated = schema.GameConfig.model_validate(raw)
    assert json.dumps(declarations.as_json(checked)) == json.dumps(validated.model_dump(mode="json"))
    assert repr(checked.client_view()) == repr(validated.client_view())
    for queue_id, queue in checked.queues.items():  # what the console shows of a queue
        assert json.dumps(declarations.as_json(queue)) == json.dumps(validated.queues[queue_id].model_dump(mode="json"))


def test_the_shipped_config_loads_without_the_schema_and_any_other_through_it(tmp_path: Path) -> None:
    assert repr(load_game_config()) == repr(parse_game_config(RAW))
    edited = tmp_path / "game.json"
    raw = json.loads(json.dumps(RAW))
    raw["stats"]["kills"]["max_delta"] = 0  # the schema refuses it
    edited.write_text(json.dumps(raw))
    with pytest.raises(GameConfigError, match=r"stats\.kills\.max_delta"):
        load_game_config(edited)
    raw["stats"]["kills"]["max_delta"] = 5
    edited.write_text(json.dumps(raw))
    assert load_game_config(edited).stats["kills"].max_delta == 5.0
