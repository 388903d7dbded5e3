"""The game's declarations (game.json), validated against the schema on first use."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from chalicelib.game_config.schema import GameConfig

GAME_CONFIG_PATH = Path(__file__).with_name("game.json")


class GameConfigError(ValueError):
    """The game config is invalid; the message names every bad entry."""


def parse_game_config(raw: dict[str, object], source: str = "game config") -> GameConfig:
    try:
        return GameConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise GameConfigError(f"{source} is invalid: {problems}") from exc


def load_game_config(path: Path = GAME_CONFIG_PATH) -> GameConfig:
    with path.open(encoding="utf-8") as handle:
        raw = json.load(handle)
    return parse_game_config(raw, source=path.name)


@lru_cache(maxsize=1)
def get_game_config() -> GameConfig:
    """The game config shipped with this deployment, loaded once per container."""
    return load_game_config()
