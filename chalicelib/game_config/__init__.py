"""The game's declarations (game.json): checked by the schema, loaded once per container.

The schema (pydantic) checks a config before the app uses it. `python -m
chalicelib.game_config` checks game.json and, if the schema accepts it, writes the digest
of the file and of the schema beside it (`game.json.checked`, git-ignored; `make run`,
`make test`, `make package` and `make deploy` run it first, so it ships in the package). A
container loading exactly the checked file with the same schema builds the declarations
without loading pydantic; any other file, or none checked, goes through the schema.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.game_config.declarations import GameConfig, from_checked, from_model

GAME_CONFIG_PATH = Path(__file__).with_name("game.json")
SCHEMA_PATH = Path(__file__).with_name("schema.py")


def checked_path(path: Path) -> Path:
    return path.with_name(path.name + ".checked")


def digest(data: bytes, schema_source: bytes | None = None) -> str:
    """The SHA-256 of a config file and of the schema that checks it, whatever their line
    endings (a Windows checkout's CRLF)."""
    schema_bytes = SCHEMA_PATH.read_bytes() if schema_source is None else schema_source
    hashed = hashlib.sha256(data.replace(b"\r\n", b"\n"))
    hashed.update(b"\0" + schema_bytes.replace(b"\r\n", b"\n"))
    return hashed.hexdigest()


def _checked_digest(path: Path) -> str | None:
    try:
        return checked_path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


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
    if digest(data) == _checked_digest(path):
        config: GameConfig = from_checked(GameConfig, raw)
        return config
    return parse_game_config(raw, source=path.name)


def check_game_config(path: Path = GAME_CONFIG_PATH) -> GameConfig:
    """Check a config file with the schema and record it as checked; GameConfigError (and
    no record) if the schema refuses it."""
    record = checked_path(path)
    record.unlink(missing_ok=True)
    data = path.read_bytes()
    config = parse_game_config(json.loads(data), source=path.name)
    record.write_text(digest(data) + "\n", encoding="ascii")
    return config


@lru_cache(maxsize=1)
def get_game_config() -> GameConfig:
    """The game config shipped with this deployment, loaded once per container."""
    return load_game_config()
