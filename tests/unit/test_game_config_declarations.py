"""The declarations the app runs on are exactly what the schema makes of the config.

A container loading a game.json recorded as checked (`python -m chalicelib.game_config`)
builds them without pydantic; every other config goes through the schema. Both ways must give the same objects, value for value
and type for type (an int is not a float: the JSON answers would differ).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import chalicelib.game_config as game_config
from chalicelib.game_config import (
    GAME_CONFIG_PATH,
    SCHEMA_PATH,
    GameConfigError,
    check_game_config,
    checked_path,
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


def _copy(tmp_path: Path, raw: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "game.json"
    path.write_text(json.dumps(RAW if raw is None else raw))
    return path


def _schema_unused(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every load that goes through the schema."""
    through: list[str] = []
    real = game_config.parse_game_config

    def parse(raw: dict[str, Any], source: str = "game config") -> declarations.GameConfig:
        through.append(source)
        return real(raw, source)

    monkeypatch.setattr(game_config, "parse_game_config", parse)
    return through


def test_a_checked_file_loads_without_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _copy(tmp_path)
    checked = check_game_config(path)
    assert checked_path(path).read_text().strip() == digest(path.read_bytes())
    through = _schema_unused(monkeypatch)
    assert repr(load_game_config(path)) == repr(checked) == repr(parse_game_config(RAW))
    assert through == []


def test_an_edit_after_the_check_or_no_check_goes_through_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    through = _schema_unused(monkeypatch)
    path = _copy(tmp_path)
    load_game_config(path)  # never checked
    check_game_config(path)
    raw = json.loads(json.dumps(RAW))
    raw["stats"]["kills"]["max_delta"] = 0  # the schema refuses it
    path.write_text(json.dumps(raw))
    with pytest.raises(GameConfigError, match=r"stats\.kills\.max_delta"):
        load_game_config(path)  # the record is of the file before the edit
    assert through == ["game.json", "game.json", "game.json"]


def test_a_refused_file_is_not_recorded_and_forgets_an_older_record(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    check_game_config(path)
    raw = json.loads(json.dumps(RAW))
    raw["stats"]["kills"]["max_delta"] = 0
    path.write_text(json.dumps(raw))
    with pytest.raises(GameConfigError, match=r"stats\.kills\.max_delta"):
        check_game_config(path)
    assert not checked_path(path).exists()


def test_the_check_command_names_the_bad_entry(tmp_path: Path) -> None:
    import subprocess
    import sys

    project = Path(__file__).resolve().parents[2]
    raw = json.loads(json.dumps(RAW))
    raw["stats"]["kills"]["max_delta"] = 0
    bad = _copy(tmp_path, raw)
    probe = (
        "import sys, pathlib, chalicelib.game_config as g, chalicelib.game_config.__main__ as m;"
        f"g.GAME_CONFIG_PATH = m.GAME_CONFIG_PATH = pathlib.Path({str(bad)!r}); sys.exit(m.main())"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "stats.kills.max_delta: Input should be greater than 0" in done.stderr
    assert not checked_path(bad).exists()


def test_the_digest_covers_the_schema_and_ignores_line_endings() -> None:
    lf = GAME_CONFIG_PATH.read_bytes().replace(b"\r\n", b"\n")
    source = SCHEMA_PATH.read_bytes()
    assert digest(lf.replace(b"\n", b"\r\n")) == digest(lf) == digest(lf, source)
    assert digest(lf, source.replace(b"\n", b"\r\n")) == digest(lf, source)
    assert digest(lf, source + b"# another rule\n") != digest(lf, source)


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
            assert repr(made) == repr(
                declarations.from_model(type(made), expected) if dataclasses.is_dataclass(made) else expected
            ), f.name
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
