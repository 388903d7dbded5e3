"""Read a Chalice stage's settings from `.chalice/config.json` (no AWS call)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent


def chalice_config(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    with open(project_dir / ".chalice" / "config.json", encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]


def stage_block(stage: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    config = chalice_config(project_dir)
    try:
        return config["stages"][stage]  # type: ignore[no-any-return]
    except KeyError as exc:
        raise SystemExit(f"no stage {stage!r} in .chalice/config.json") from exc


def stage_environment(stage: str, project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The environment variables Chalice gives the stage's functions (top level, then stage)."""
    config = chalice_config(project_dir)
    env = dict(config.get("environment_variables", {}))
    env.update(stage_block(stage, project_dir).get("environment_variables", {}))
    return env


def app_name(project_dir: Path = PROJECT_DIR) -> str:
    return str(chalice_config(project_dir)["app_name"])
