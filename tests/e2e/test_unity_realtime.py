"""The Unity package's realtime client under Mono: offline, then two clients against the local
backend's WebSocket API (the gateway in this process, `chalice local` pushing through it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.config import reset_settings
from chalicelib.storage import aws
from local_backend.ws_gateway import Gateway, app_handlers
from tests.e2e.conftest import start_api_server, stop_process
from tests.e2e.test_unity_client import Build, build, outcomes  # noqa: F401 - the module's build fixture

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def realtime_backend(standin: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A WebSocket gateway on a free port and the local API pushing through it: (API URL, WS URL)."""
    import app as app_module

    gateway = Gateway(app_handlers(app_module))
    gateway.bind_management()
    os.environ["WEBSOCKET_MANAGEMENT_URL"] = gateway.management_url
    reset_settings()
    aws.reset_clients()
    gateway.start()
    env = {**os.environ, "GUEST_RATE_LIMIT": "100000", "PYTHONUNBUFFERED": "1"}
    proc, url = start_api_server(env, tmp_path_factory.mktemp("realtime-api") / "api.log")
    try:
        yield url, gateway.url
    finally:
        stop_process(proc)
        gateway.stop()
        os.environ.pop("WEBSOCKET_MANAGEMENT_URL", None)
        reset_settings()
        aws.reset_clients()


def test_realtime_client_offline(build: Build) -> None:  # noqa: F811 - the imported fixture
    proc = build.run("RealtimeOfflineTests.", env={"GAMEBACKEND_URL": ""})
    results = outcomes(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(results) == 3 and set(results.values()) == {"PASS"}, proc.stdout


def test_push_feed_behind_the_manager_offline(build: Build) -> None:  # noqa: F811 - the imported fixture
    """GameBackendManager's pushes: socket up (no polls), down (inbox polled), reconnect, dedupe, main thread."""
    proc = build.run("PushFeedTests.", "RealtimeOptionsTests.", env={"GAMEBACKEND_URL": ""})
    results = outcomes(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(results) >= 5 and set(results.values()) == {"PASS"}, proc.stdout


def test_two_unity_clients_get_match_found_pushed_without_polling(
    build: Build,  # noqa: F811 - the imported fixture
    realtime_backend: tuple[str, str],
) -> None:
    api_url, ws_url = realtime_backend
    proc = build.run("RealtimeEndToEndTests.", env={"GAMEBACKEND_URL": api_url, "GAMEBACKEND_WS_URL": ws_url})
    print(proc.stdout)
    results = outcomes(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert results == {
        "RealtimeEndToEndTests.TwoClientsReceiveMatchFoundWithoutPolling": "PASS",
        "RealtimeEndToEndTests.APushFeedRaisesAnUnlockOnceOnTheMainThreadWithoutPolling": "PASS",
        "RealtimeEndToEndTests.APushFeedWhoseSocketCannotConnectRaisesTheUnlockFromTheInbox": "PASS",
    }, proc.stdout
