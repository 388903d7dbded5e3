"""Shared fixtures: the local stand-in (session), the app client and players with tokens."""

from __future__ import annotations

import os

# The app picks its gateway authorizer at import: tests run it as the local stage does.
os.environ.setdefault("AUTH_MODE", "app")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("LOG_LEVEL", "WARNING")

pytest_plugins = ["tests.standin_fixtures", "tests.app_fixtures", "tests.layer_timing"]


def pytest_collection_modifyitems(items):  # type: ignore[no-untyped-def]
    """schemathesis goes last: its generated writes land on the shared boards and queues."""
    items.sort(key=lambda item: "test_schemathesis" in item.nodeid)
