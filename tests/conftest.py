"""Shared fixtures: the local stand-in (session), the app client and players with tokens."""

from __future__ import annotations

import os

# The app picks its gateway authorizer at import: tests run it as the local stage does.
os.environ.setdefault("AUTH_MODE", "app")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import pytest
from hypothesis import HealthCheck, settings

# Property tests never depend on the machine's speed: no per-example deadline, no "too
# slow" health check (both fail a correct test on a loaded machine).
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

pytest_plugins = ["tests.standin_fixtures", "tests.app_fixtures", "tests.layer_timing"]


@pytest.fixture(scope="session", autouse=True)
def wired() -> None:
    """The reactions between services, as the app has them: a test that calls a service
    directly sees the same listeners, and may replace one (monkeypatch) after this."""
    from chalicelib import composition

    composition.wire()


def pytest_collection_modifyitems(items):  # type: ignore[no-untyped-def]
    """schemathesis goes last: its generated writes land on the shared boards and queues.
    The Unity client goes first: it expects a new player's inbox empty, before any test
    broadcasts (under xdist each worker runs its files in this order)."""
    items.sort(key=lambda item: ("test_schemathesis" in item.nodeid, "test_unity_client" not in item.nodeid))
