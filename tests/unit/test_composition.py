"""The composition root is the only place that registers reactions between services."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Imports every module of chalicelib, then `app`, then reports the registries; then wires
# and reports them again. A fresh process: nothing imported or wired before.
PROBE = """
import importlib, json, pkgutil, sys

import chalicelib

for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
    importlib.import_module(module.name)
import app  # noqa: F401

from chalicelib import composition
from chalicelib.services import erasure, hooks, notify


def registries():
    return {
        "stat_listeners": [name for name, _ in hooks._stat_listeners],
        "stat_feeds": sorted(hooks._stat_feeds),
        "player_listeners": sorted(hooks._player_listeners),
        "erasers": sorted(erasure._erasers),
        "sink": notify._sink is not None,
        "pusher": notify._pusher is not None,
        "wired": composition.is_wired(),
    }


imported = registries()
composition.wire()
wired = registries()
composition.wire()  # a second call changes nothing
print(json.dumps({"imported": imported, "wired": wired, "again": registries()}))
"""

EVERY_ERASER = [
    "achievements",
    "connections",
    "events",
    "leaderboards",
    "matchmaking",
    "notifications",
    "players",
    "saves",
]


def _probe(code: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_nothing_registers_itself_at_import_and_wire_registers_every_reaction() -> None:
    report = _probe(PROBE)
    assert report["imported"] == {
        "stat_listeners": [],
        "stat_feeds": [],
        "player_listeners": [],
        "erasers": [],
        "sink": False,
        "pusher": False,
        "wired": False,
    }
    expected = {
        "stat_listeners": ["achievements"],
        "stat_feeds": ["leaderboards"],
        "player_listeners": ["achievements"],
        "erasers": EVERY_ERASER,
        "sink": True,
        "pusher": True,
        "wired": True,
    }
    assert report["wired"] == expected
    assert report["again"] == expected


def test_first_use_of_a_registry_wires_the_process() -> None:
    """A stat update, an account deletion or a notice never runs unwired, whatever ran first."""
    for first_use in (
        "from chalicelib.services import hooks; hooks.stat_feeds()",
        "from chalicelib.services import hooks; hooks.stat_changed(hooks.StatChange('p', {}, {}))",
        "from chalicelib.services import erasure; erasure.registered()",
        "from chalicelib.services import notify; notify.signal([], 'x', {})",
    ):
        code = (
            f"{first_use}\n"
            "import json\n"
            "from chalicelib import composition\n"
            "from chalicelib.services import erasure, hooks\n"
            "print(json.dumps({'wired': composition.is_wired(), 'feeds': sorted(hooks._stat_feeds),"
            " 'erasers': sorted(erasure._erasers)}))\n"
        )
        report = _probe(code)
        assert report == {"wired": True, "feeds": ["leaderboards"], "erasers": EVERY_ERASER}, first_use


def test_a_registration_made_after_wiring_replaces_the_wired_one() -> None:
    """A test or a benchmark that installs its own pusher keeps it: wiring ran before it."""
    report = _probe(
        "import json\n"
        "from chalicelib.services import notify\n"
        "class Mine:\n"
        "    pass\n"
        "mine = Mine()\n"
        "notify.register_pusher(mine)  # type: ignore\n"
        "print(json.dumps({'mine': notify._pusher is mine, 'sink': notify._sink is not None}))\n"
    )
    assert report == {"mine": True, "sink": True}
