"""`python -m chalicelib.game_config`: check game.json with the schema and record it.

Exit 0 and `game.json.checked` written when the schema accepts it; exit 1 with the
schema's message naming every bad entry otherwise (and no record).
"""

from __future__ import annotations

import sys

from chalicelib.game_config import GAME_CONFIG_PATH, GameConfigError, check_game_config


def main() -> int:
    try:
        check_game_config(GAME_CONFIG_PATH)
    except (GameConfigError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
