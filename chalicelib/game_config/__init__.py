"""The game's declarations (game.json): checked by the schema, loaded once per container.

The schema (pydantic) checks a config before the app uses it. The shipped game.json that
the schema has accepted is recorded by its digest (CHECKED_SHA256, kept current by the
tests): a container loading exactly that file builds the declarations without loading
pydantic. Any other file, or any other config, goes through the schema.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.game_config.declarations import GameConfig, from_checked, from_model

GAME_CONFIG_PATH = Path(__file__).with_name("game.json")

# SHA-256 of the game.json the schema accepted (tests/unit/test_game_config_declarations.py
# says the new value when the file changes; until then the file is checked at load).
CHECKED_SHA256 = "593a4e85c7d6409b30514bd7887b1f5c8a4c6f245eee49c5e68b7518ed5c039e"


def digest(data: bytes) -> str:
    """The SHA-256 of a config file, whatever its line endings (a Windows checkout's CRLF)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


class GameConfigError(ValueError):
    """The game config is invalid; the message names every bad entry."""


def parse_game_config(raw: dict[str, Any], source: str = "game config") -> GameConfig:
    """Check a config against the schema; its declarations, or GameConfigError naming every bad entry."""
    from pydantic import ValidationError

    from chalicelib.game_config import schema

    try:
        model = schema.GameConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise GameConfigError(f"{source} is invalid: {problems}") from exc
    config: GameConfig = from_model(GameConfig, model)
    return config


def load_game_config(path: Path = GAME_CONFIG_PATH) -> GameConfig:
    data = path.read_bytes()
    raw = json.loads(data)
    if digest(data) == CHECKED_SHA256:
        config: GameConfig = from_checked(GameConfig, raw)
        return config
    return parse_game_config(raw, source=path.name)


@lru_cache(maxsize=1)
def get_game_config() -> GameConfig:
    """The game config shipped with this deployment, loaded once per container."""
    return load_game_config()
